// runtime/store_health.hpp: a store's loss and return are reported once each, whatever the
// number of threads and failed requests; the log keeps the address, with no password.
#include <gtest/gtest.h>

#include "runtime/store_health.hpp"

namespace outboard::runtime {
namespace {

using Change = StoreHealth::Change;

core::Error const kDown = core::make_error(core::Errc::unavailable, "redis 10.0.0.5:6379/0: connection refused");
core::Error const kSlow = core::make_error(core::Errc::timeout, "redis 10.0.0.5:6379/0: no reply within 500 ms");
core::Error const kWrongType = core::make_error(core::Errc::invalid, "key 'k' holds another type");

TEST(StoreHealth, LossAndReturnOnceEachAcrossThreadsAndRequests) {
  StoreHealth health("sessions store (redis 10.0.0.5:6379/0)", true);
  bool thread_a = true, thread_b = true;  // each thread's handle
  EXPECT_EQ(health.observe(thread_a, nullptr), Change::none);
  EXPECT_EQ(health.observe(thread_a, &kDown), Change::lost);
  EXPECT_FALSE(health.reachable());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(health.observe(thread_a, &kDown), Change::none);
  EXPECT_EQ(health.observe(thread_b, &kSlow), Change::none);  // the other thread sees the same outage
  EXPECT_EQ(health.observe(thread_a, nullptr), Change::regained);
  EXPECT_TRUE(health.reachable());
  // Thread B's own reconnect is still backing off: it had failed already, so nothing new.
  EXPECT_EQ(health.observe(thread_b, &kDown), Change::none);
  EXPECT_EQ(health.observe(thread_b, nullptr), Change::none);
  EXPECT_EQ(health.observe(thread_a, nullptr), Change::none);
  // A later outage is reported again.
  EXPECT_EQ(health.observe(thread_b, &kDown), Change::lost);
}

TEST(StoreHealth, AnErrorTheStoreAnsweredIsNotALoss) {
  StoreHealth health("data store (sqlite /srv/state.db)", false);
  bool handle = true;
  EXPECT_EQ(health.observe(handle, &kWrongType), Change::none);
  EXPECT_TRUE(health.reachable());
  EXPECT_FALSE(health.shared());
}

TEST(StoreHealth, LocationNamesTheStoreWithoutItsPassword) {
  EXPECT_EQ(store_location("redis://:s3cret@10.0.0.5:6380/2"), "redis 10.0.0.5:6380/2");
  EXPECT_EQ(store_location("sqlite://outboard-data/state.db"), "sqlite outboard-data/state.db");
  EXPECT_EQ(store_location("memory://"), "memory");
}

}  // namespace
}  // namespace outboard::runtime
