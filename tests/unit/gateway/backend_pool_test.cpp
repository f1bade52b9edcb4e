// Truth for one gateway: health rise/fall, outlier ejection with a growing back-off, slow start,
// draining, and membership changes that keep live state. All on a ManualClock.
#include <gtest/gtest.h>

#include "gateway/backend_pool.hpp"

namespace outboard::gateway {
namespace {

using namespace std::chrono_literals;

TEST(Backend, RiseAndFall) {
  Backend b({"127.0.0.1", 1}, 1, 0);
  EXPECT_TRUE(b.healthy());
  EXPECT_FALSE(b.record_check(false, 2, 2, 0));
  EXPECT_TRUE(b.healthy());
  EXPECT_TRUE(b.record_check(false, 2, 2, 0));
  EXPECT_FALSE(b.healthy());
  EXPECT_FALSE(b.record_check(true, 2, 2, 0));
  EXPECT_FALSE(b.healthy());
  EXPECT_TRUE(b.record_check(true, 2, 2, 0));
  EXPECT_TRUE(b.healthy());
}

TEST(Backend, EjectionBacksOffAndCaps) {
  Backend b({"127.0.0.1", 1}, 1, 0);
  std::int64_t now = 1000;
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(b.record_failure(3, 100ms, 350ms, now));
  EXPECT_TRUE(b.record_failure(3, 100ms, 350ms, now));
  EXPECT_TRUE(b.ejected(now + 99));
  EXPECT_FALSE(b.ejected(now + 100));
  now += 100;
  for (int i = 0; i < 2; ++i) b.record_failure(3, 100ms, 350ms, now);
  EXPECT_TRUE(b.record_failure(3, 100ms, 350ms, now));
  EXPECT_TRUE(b.ejected(now + 199));  // doubled
  EXPECT_FALSE(b.ejected(now + 200));
  now += 200;
  for (int i = 0; i < 3; ++i) b.record_failure(3, 100ms, 350ms, now);
  EXPECT_TRUE(b.ejected(now + 349));  // capped at 350, not 400
  EXPECT_FALSE(b.ejected(now + 350));
  EXPECT_EQ(b.ejections.load(), 3u);
}

TEST(Backend, SuccessResetsTheStreak) {
  Backend b({"127.0.0.1", 1}, 1, 0);
  b.record_failure(3, 100ms, 1000ms, 0);
  b.record_failure(3, 100ms, 1000ms, 0);
  b.record_success();
  EXPECT_FALSE(b.record_failure(3, 100ms, 1000ms, 0));
  EXPECT_FALSE(b.ejected(0));
}

TEST(Backend, ThresholdZeroNeverEjects) {
  Backend b({"127.0.0.1", 1}, 1, 0);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(b.record_failure(0, 100ms, 1000ms, 0));
}

TEST(Backend, SlowStartRampsTheWeight) {
  Backend b({"127.0.0.1", 1}, 100, 0);
  EXPECT_EQ(b.effective_weight(0, 1000ms), 1u);
  EXPECT_NEAR(b.effective_weight(500, 1000ms), 50u, 1);
  EXPECT_EQ(b.effective_weight(1000, 1000ms), 100u);
  EXPECT_EQ(b.effective_weight(0, 0ms), 100u);
}

TEST(Backend, AvailabilityAndStateNames) {
  Backend b({"127.0.0.1", 1}, 1, 0);
  EXPECT_EQ(b.state_name(0), "up");
  b.set_draining(true);
  EXPECT_FALSE(b.available(0));
  EXPECT_EQ(b.state_name(0), "draining");
  b.set_draining(false);
  b.record_check(false, 1, 1, 0);
  EXPECT_EQ(b.state_name(0), "down");
}

TEST(BackendPool, MembershipChangesBumpTheVersionAndKeepLiveState) {
  core::ManualClock clock;
  BackendPool pool(clock);
  pool.replace({{{"127.0.0.1", 1}, 1}, {{"127.0.0.1", 2}, 1}});
  auto v1 = pool.version();
  auto kept = pool.find("127.0.0.1:1");
  kept->set_draining(true);
  pool.replace({{{"127.0.0.1", 1}, 5}, {{"127.0.0.1", 3}, 1}});
  EXPECT_GT(pool.version(), v1);
  auto snap = pool.snapshot();
  ASSERT_EQ(snap->backends.size(), 2u);
  EXPECT_EQ(snap->backends[0].get(), kept.get());  // same object: live state kept
  EXPECT_TRUE(snap->backends[0]->draining());
  EXPECT_EQ(snap->backends[0]->weight(), 5u);
  EXPECT_EQ(pool.find("127.0.0.1:2"), nullptr);
  EXPECT_FALSE(pool.add({"127.0.0.1", 3}, 1));
  EXPECT_TRUE(pool.add({"127.0.0.1", 4}, 1));
  EXPECT_TRUE(pool.remove("127.0.0.1:4"));
  EXPECT_FALSE(pool.remove("127.0.0.1:4"));
}

TEST(BackendAddress, Parses) {
  EXPECT_TRUE(parse_backend_address("127.0.0.1:80"));
  EXPECT_TRUE(parse_backend_address("localhost:9001"));
  EXPECT_FALSE(parse_backend_address("127.0.0.1"));
  EXPECT_FALSE(parse_backend_address(":80"));
  EXPECT_FALSE(parse_backend_address("h:0"));
  EXPECT_FALSE(parse_backend_address("h:70000"));
}

}  // namespace
}  // namespace outboard::gateway
