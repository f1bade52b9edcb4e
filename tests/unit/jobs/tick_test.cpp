// Tick jobs (jobs/tick.hpp): their keys, and what the built-in handler makes of a claim.
#include "jobs/tick.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace outboard::jobs {
namespace {

class NoWork final : public TaskHandler {
 public:
  state::Async<std::vector<state::Write>> run(state::Store&, std::int64_t) override {
    co_return std::vector<state::Write>{};
  }
};

state::Claim claim_of(std::string key) {
  state::Claim c;
  c.type = "tick";
  c.key = std::move(key);
  c.id = state::job_id(c.type, c.key);
  return c;
}

TEST(TickKey, IsTaskAtInstant) {
  auto spec = tick_job("expire-carts", 1'700'000'040'000, 5);
  EXPECT_EQ(spec.type, "tick");
  EXPECT_EQ(spec.key, "expire-carts@1700000040000");
  EXPECT_EQ(nlohmann::json::parse(spec.payload)["catch_up"], false);
  auto parsed = parse_tick_key(spec.key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->task, "expire-carts");
  EXPECT_EQ(parsed->instant_ms, 1'700'000'040'000);
  for (char const* bad : {"", "@1", "task@", "task", "task@12x", "task@-5", "task@99999999999999999999"}) {
    EXPECT_FALSE(parse_tick_key(bad)) << bad;
  }
}

TEST(TickHandler, MarksTheInstantInTheTasksHash) {
  std::map<std::string, std::unique_ptr<TaskHandler>> tasks;
  tasks.emplace("sweep", std::make_unique<NoWork>());
  TickHandler handler(tasks);
  auto marker = handler.marker(claim_of("sweep@120000"));
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->key, "ticks:{sweep}");
  EXPECT_EQ(marker->field, "120000");
}

TEST(TickHandler, AnUnknownTaskIsRetriedAndAMalformedKeyIsDead) {
  std::map<std::string, std::unique_ptr<TaskHandler>> tasks;
  tasks.emplace("sweep", std::make_unique<NoWork>());
  TickHandler handler(tasks);
  // A rolling deploy may add a task that this (older) instance lacks: another instance runs it.
  auto unknown = handler.marker(claim_of("summary@120000"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::Errc::not_found);
  auto malformed = handler.marker(claim_of("sweep-120000"));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, core::Errc::invalid);
}

}  // namespace
}  // namespace outboard::jobs
