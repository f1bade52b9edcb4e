// `every` intervals and the instants a schedule is due at (jobs/schedule.hpp), and the retry
// backoff's bounds (jobs/backoff.hpp).
#include "jobs/schedule.hpp"

#include <gtest/gtest.h>

#include <random>

#include "jobs/backoff.hpp"
#include "support/must.hpp"

namespace outboard::jobs {
namespace {

using testing::must;

using core::Millis;

TEST(Every, ReadsAPositiveCountAndOneUnit) {
  EXPECT_EQ(must(parse_every("500ms")), Millis(500));
  EXPECT_EQ(must(parse_every("30s")), Millis(30'000));
  EXPECT_EQ(must(parse_every("5m")), Millis(300'000));
  EXPECT_EQ(must(parse_every("1h")), Millis(3'600'000));
  EXPECT_EQ(must(parse_every("366d")), Millis(366LL * 86'400'000));
}

TEST(Every, RefusesWithTheReason) {
  struct Case {
    char const* text;
    char const* reason;
  } cases[] = {
      {"0s", "'0s' is zero"},          {"000ms", "is zero"},
      {"-5s", "is negative"},          {"5", "'5' has no unit"},
      {"5x", "has an unknown unit"},   {"1.5s", "has an unknown unit"},
      {"", "does not start with a number"}, {"s", "does not start with a number"},
      {" 5s", "does not start with a number"}, {"5s ", "has an unknown unit"},
      {"367d", "is longer than 366 days"}, {"99999999999999999999ms", "is longer than 366 days"},
  };
  for (auto const& c : cases) {
    auto parsed = parse_every(c.text);
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_NE(parsed.error().context.find(c.reason), std::string::npos)
        << "'" << c.text << "': " << parsed.error().context;
  }
}

TEST(Every, TicksAtMultiplesOfThePeriodSinceTheEpoch) {
  Timing t = Every{Millis(30'000)};
  EXPECT_EQ(next_instant(t, 1'700'000'000'123), 1'700'000'010'000);
  EXPECT_EQ(next_instant(t, 1'700'000'010'000), 1'700'000'040'000);  // strictly after
  EXPECT_EQ(last_instant(t, 1'700'000'010'000), 1'700'000'010'000);
  EXPECT_EQ(last_instant(t, 1'700'000'039'999), 1'700'000'010'000);
}

TEST(Due, NothingBeforeTheNextInstant) {
  Timing t = Every{Millis(60'000)};
  auto due = due_between(t, 600'000, 629'999);
  EXPECT_FALSE(due.current);
  EXPECT_EQ(due.missed, 0);
}

TEST(Due, AWakeUpLateByLessThanAPeriodRunsItsInstant) {
  Timing t = Every{Millis(60'000)};
  auto due = due_between(t, 600'000, 719'999);
  EXPECT_EQ(due.current, 660'000);
  EXPECT_EQ(due.missed, 0);
  EXPECT_FALSE(due.latest_missed);
}

TEST(Due, TheInstantsBeforeTheLatestAreMissed) {
  Timing t = Every{Millis(60'000)};
  auto due = due_between(t, 600'000, 910'000);  // due: 660, 720, 780, 840, 900 (thousands)
  EXPECT_EQ(due.current, 900'000);
  EXPECT_EQ(due.missed, 4);
  EXPECT_EQ(due.latest_missed, 840'000);

  Timing hourly = must(parse_cron("0 * * * *"));
  std::int64_t nine = 9 * 3'600'000;
  auto late = due_between(hourly, nine, nine + 3 * 3'600'000 + 1'800'000);  // 12:30
  EXPECT_EQ(late.current, nine + 3 * 3'600'000);
  EXPECT_EQ(late.missed, 2);  // 10:00 and 11:00
  EXPECT_EQ(late.latest_missed, nine + 2 * 3'600'000);
}

TEST(Due, AHugeGapIsCountedWithoutWalkingIt) {
  Timing t = Every{Millis(1)};
  auto due = due_between(t, 0, 10'000'000'000);
  EXPECT_EQ(due.missed, kMissedCountCap);
  Timing minutely = must(parse_cron("* * * * *"));
  EXPECT_EQ(due_between(minutely, 0, 10'000'000'000).missed, kMissedCountCap);
}

TEST(Backoff, CeilingDoublesFromTheBaseUpToTheMax) {
  Millis base(200), max(30'000);
  EXPECT_EQ(backoff_ceiling(1, base, max), Millis(200));
  EXPECT_EQ(backoff_ceiling(2, base, max), Millis(400));
  EXPECT_EQ(backoff_ceiling(5, base, max), Millis(3200));
  EXPECT_EQ(backoff_ceiling(8, base, max), Millis(25'600));
  EXPECT_EQ(backoff_ceiling(9, base, max), max);
  EXPECT_EQ(backoff_ceiling(1'000'000, base, max), max);  // no overflow
  EXPECT_EQ(backoff_ceiling(0, base, max), base);
}

TEST(Backoff, DelaysAreSpreadOverZeroToTheCeiling) {
  std::mt19937_64 random(7);
  Millis lowest(1'000'000), highest(0);
  for (int i = 0; i < 2000; ++i) {
    auto d = backoff_delay(3, Millis(200), Millis(30'000), random);
    ASSERT_GE(d.count(), 0);
    ASSERT_LE(d, Millis(800));
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_LT(lowest, Millis(100));   // full jitter: near zero happens
  EXPECT_GT(highest, Millis(700));  // and near the ceiling
}

}  // namespace
}  // namespace outboard::jobs
