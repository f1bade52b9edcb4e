// The store gone (redis-server killed): every refresh and revocation call answers the store's
// Errc::unavailable (a 503 upstream), never a refusal or a verdict that would log someone out
// or let a revoked token through.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth/refresh_families.hpp"
#include "auth/revocation.hpp"
#include "core/clock.hpp"
#include "state/store.hpp"
#include "support/gateway_process.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::auth {
namespace {

template <class T>
void expect_unavailable(core::Result<T> const& r, char const* what) {
  ASSERT_FALSE(r.has_value()) << what << " answered without its store";
  EXPECT_EQ(r.error().code, core::Errc::unavailable) << what << ": " << r.error().describe();
}

TEST(RefreshStoreDown, EveryCallIsUnavailableNeverARefusalOrAVerdict) {
  testing::RedisServer redis;
  core::ManualClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto provider = state::open_store(redis.url(), options);
  auto store = provider->store_for(io.get_executor());
  RefreshKey key = RefreshKey::generate();
  RefreshPolicy refresh_policy;
  RefreshCounters counters;
  RefreshFamilies families(*store, clock, key, refresh_policy, counters);
  RevocationPolicy revocation_policy;
  Revocation revocation(*store, clock, revocation_policy);
  auto issued = testing::run_coro(io, families.issue("ada"));
  ASSERT_TRUE(issued.has_value()) << issued.error().describe();
  AccessClaims claims{"ada", "jti", clock.now_ms(), clock.now_ms() + 60'000, ""};

  redis.kill();
  expect_unavailable(testing::run_coro(io, families.rotate(issued->token)), "rotate");
  expect_unavailable(testing::run_coro(io, families.issue("ada")), "issue");
  expect_unavailable(testing::run_coro(io, families.end_family(issued->token)), "end_family");
  expect_unavailable(testing::run_coro(io, families.end_all_families("ada")), "end_all_families");
  expect_unavailable(testing::run_coro(io, revocation.check(claims)), "check");
  expect_unavailable(testing::run_coro(io, revocation.revoke_token(claims)), "revoke_token");
  expect_unavailable(testing::run_coro(io, revocation.revoke_user("ada")), "revoke_user");
  EXPECT_EQ(counters.refused.load(), 0u);

  // Back (once the connection's reconnect backoff has passed): the same token rotates,
  // nothing was lost or ended meanwhile.
  redis.restart();
  core::Result<RotateOutcome> next = core::make_error(core::Errc::unavailable, "not tried");
  ASSERT_TRUE(testing::wait_until(
      [&] {
        next = testing::run_coro(io, families.rotate(issued->token));
        return next.has_value() || !next.error().transient();
      },
      std::chrono::seconds(10), std::chrono::milliseconds(2)));
  ASSERT_TRUE(next.has_value()) << next.error().describe();
  EXPECT_TRUE(std::holds_alternative<IssuedRefresh>(*next));
  store.reset();
}

}  // namespace
}  // namespace outboard::auth
