// The revocation check through the redis near-cache: its reads are cached reads (a warm check
// sends nothing to Redis, a never-revoked token included), and a revocation made on another
// server evicts them, so the next check there refuses the token. No timing: the waits are for
// the cache's own counters.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth/revocation.hpp"
#include "core/clock.hpp"
#include "state/store.hpp"
#include "support/gateway_process.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::auth {
namespace {

template <class Predicate>
bool wait_for(Predicate done) {
  return testing::wait_until(done, std::chrono::seconds(10), std::chrono::milliseconds(2));
}

TEST(RevocationNearCache, ChecksAreCachedAndAnotherServersRevocationEvictsThem) {
  testing::RedisServer redis;
  core::ManualClock clock;
  state::StoreOptions cached;
  cached.clock = &clock;
  cached.near_cache_keys = 100;
  boost::asio::io_context io;
  auto here = state::open_store(redis.url(), cached);
  ASSERT_TRUE(wait_for([&] { return here->near_cache_stats()->linked; }));
  state::StoreOptions plain;
  plain.clock = &clock;
  auto there = state::open_store(redis.url(), plain);
  auto here_store = here->store_for(io.get_executor());
  auto there_store = there->store_for(io.get_executor());
  RevocationPolicy policy;
  Revocation at_a(*here_store, clock, policy);
  Revocation at_b(*there_store, clock, policy);

  AccessClaims claims{"ada", "jti-1", clock.now_ms(), clock.now_ms() + policy.access_lifetime.count(), ""};
  auto check = [&] {
    auto r = testing::run_coro(io, at_a.check(claims));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r ? *r : AccessVerdict::valid;
  };
  EXPECT_EQ(check(), AccessVerdict::valid);
  auto hits = here->near_cache_stats()->hits;
  EXPECT_EQ(check(), AccessVerdict::valid);
  EXPECT_EQ(here->near_cache_stats()->hits, hits + 2) << "both revocation reads should be near-cache hits";

  clock.advance(core::Millis(1));
  ASSERT_TRUE(testing::run_coro(io, at_b.revoke_user("ada")).has_value());
  ASSERT_TRUE(wait_for([&] { return here->near_cache_stats()->invalidations >= 1; }));
  EXPECT_EQ(check(), AccessVerdict::user_revoked);

  here_store.reset();
  there_store.reset();
}

}  // namespace
}  // namespace outboard::auth
