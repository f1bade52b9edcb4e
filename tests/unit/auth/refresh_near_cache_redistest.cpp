// Rotation with the redis near-cache on, across two servers: a family read (and cached) by one
// server and then ended on the other is never rotated again, even before the invalidation has
// arrived, because the decision is the conditional write, which Redis evaluates; the cached copy
// can only pick the reason.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth/refresh_families.hpp"
#include "core/clock.hpp"
#include "state/store.hpp"
#include "support/gateway_process.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::auth {
namespace {

TEST(RefreshNearCache, AFamilyEndedOnOneServerIsNeverRotatedOnAnotherThatCachedIt) {
  testing::RedisServer redis;
  core::ManualClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  options.near_cache_keys = 100;
  boost::asio::io_context io;
  auto a_provider = state::open_store(redis.url(), options);
  auto b_provider = state::open_store(redis.url(), options);
  auto linked = [&] { return a_provider->near_cache_stats()->linked && b_provider->near_cache_stats()->linked; };
  ASSERT_TRUE(testing::wait_until(linked, std::chrono::seconds(10), std::chrono::milliseconds(2)));
  auto a_store = a_provider->store_for(io.get_executor());
  auto b_store = b_provider->store_for(io.get_executor());
  RefreshKey key = RefreshKey::generate();
  RefreshPolicy policy;
  RefreshCounters a_counters, b_counters;
  RefreshFamilies a(*a_store, clock, key, policy, a_counters);
  RefreshFamilies b(*b_store, clock, key, policy, b_counters);

  auto first = testing::run_coro(io, a.issue("ada"));
  ASSERT_TRUE(first.has_value());
  auto second = testing::run_coro(io, b.rotate(first->token));  // b now holds the family in its cache
  ASSERT_TRUE(second.has_value() && std::holds_alternative<IssuedRefresh>(*second));
  std::string const token = std::get<IssuedRefresh>(*second).token;
  auto b_invalidations = b_provider->near_cache_stats()->invalidations;

  auto ended = testing::run_coro(io, a.end_family(token));
  ASSERT_TRUE(ended.has_value() && *ended);
  // At once, whether or not b's copy has been invalidated yet: never a new token. (A 503 is
  // allowed while the copy contradicts Redis for several rounds.)
  auto early = testing::run_coro(io, b.rotate(token));
  if (early.has_value()) {
    ASSERT_TRUE(std::holds_alternative<RefreshRefusal>(*early)) << "rotated a token of an ended family";
    EXPECT_EQ(std::get<RefreshRefusal>(*early), RefreshRefusal::ended);
  } else {
    EXPECT_EQ(early.error().code, core::Errc::unavailable) << early.error().describe();
  }
  EXPECT_EQ(a_counters.rotated.load() + b_counters.rotated.load(), 1u);

  ASSERT_TRUE(testing::wait_until([&] { return b_provider->near_cache_stats()->invalidations > b_invalidations; },
                                  std::chrono::seconds(10), std::chrono::milliseconds(2)));
  auto late = testing::run_coro(io, b.rotate(token));
  ASSERT_TRUE(late.has_value()) << late.error().describe();
  ASSERT_TRUE(std::holds_alternative<RefreshRefusal>(*late));
  EXPECT_EQ(std::get<RefreshRefusal>(*late), RefreshRefusal::ended);
  a_store.reset();
  b_store.reset();
}

}  // namespace
}  // namespace outboard::auth
