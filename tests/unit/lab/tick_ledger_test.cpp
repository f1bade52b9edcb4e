// The tick ledger's arithmetic (src/lab/tick_ledger.hpp), on plain `outboard jobs ticks` answers.
#include "lab/tick_ledger.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace outboard::lab {
namespace {

using nlohmann::json;

json run(std::int64_t instant, char const* instance, std::int64_t fence) {
  return {{"instant_ms", instant}, {"instance", instance}, {"fence", fence}, {"at_ms", instant + 3}};
}

TEST(TickLedger, ReadsTheRunsInTheLogsOrder) {
  json doc{{"task", "sales-summary"}, {"runs", json::array({run(2000, "s1", 1), run(1000, "s2", 1)})}};
  auto runs = read_tick_runs(doc);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].instant_ms, 2000);
  EXPECT_EQ((*runs)[1].instant_ms, 1000);
  EXPECT_TRUE(read_tick_runs(json{{"task", "t"}, {"runs", json::array()}})->empty());
  EXPECT_FALSE(read_tick_runs(json{{"task", "t"}}));
  EXPECT_FALSE(read_tick_runs(json{{"runs", json::array({{{"instance", "s1"}}})}}));
  EXPECT_FALSE(read_tick_runs(json::array()));
}

TEST(TickLedger, TheWindowStartsAPeriodAfterReadyAndEndsALeaseBeforeTheStop) {
  // Ready at 10.2 s: the first instant after it is 11 s, plus one period: 12 s. Stopped at
  // 20.5 s with a 1 s lease: instants before 19.5 s, the last 19 s.
  TickWindow w = tick_window(10'200, 20'500, 1000, 1000);
  EXPECT_EQ(w.first_ms, 12'000);
  EXPECT_EQ(w.last_ms, 19'000);
  // On the instants themselves: ready exactly at 10 s counts 10 s as "after", stop - lease at
  // 19 s excludes 19 s ("before").
  w = tick_window(10'000, 20'000, 1000, 1000);
  EXPECT_EQ(w.first_ms, 11'000);
  EXPECT_EQ(w.last_ms, 18'000);
  // Too short a run: an empty window, nothing owed.
  w = tick_window(10'200, 12'100, 1000, 1000);
  EXPECT_GT(w.first_ms, w.last_ms);
  EXPECT_EQ(count_ticks({}, w).instants, 0);
}

TEST(TickLedger, OneRunPerInstantCountsNothing) {
  TickWindow w = tick_window(0, 6'000, 1000, 1000);  // 1 s .. 4 s
  std::vector<TickRun> runs{{1000, 1}, {2000, 1}, {3000, 2}, {4000, 1}};
  TickCounts c = count_ticks(runs, w);
  EXPECT_EQ(c.instants, 4);
  EXPECT_EQ(c.runs, 4);
  EXPECT_EQ(c.missed + c.run_twice + c.stale_writes, 0);
}

TEST(TickLedger, CountsMissedTwiceAndStaleInsideTheWindowOnly) {
  TickWindow w = tick_window(0, 7'000, 1000, 1000);  // 1 s .. 5 s
  std::vector<TickRun> runs{
      {0, 1},     {0, 1},              // before the window: not judged
      {1000, 1},  {1000, 1}, {1000, 1},  // naive: three servers, each its own queue: run twice x2, none stale
      // 2000: missed
      {3000, 2},  {3000, 1},           // locked: the paused holder (fence 1) wrote after its successor
      {4000, 1},
      {5000, 1},  {5000, 2},           // twice, in fence order: a duplicate, not provably stale
      {6000, 1},  {6000, 1},           // after the window: not judged
  };
  TickCounts c = count_ticks(runs, w);
  EXPECT_EQ(c.instants, 5);
  EXPECT_EQ(c.runs, 8);
  EXPECT_EQ(c.missed, 1);
  EXPECT_EQ(c.run_twice, 2 + 1 + 1);
  EXPECT_EQ(c.stale_writes, 1);
}

}  // namespace
}  // namespace outboard::lab
