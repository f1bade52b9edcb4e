// Login and sign-up throttling over a real store (memory, on a manual clock): lockouts that grow,
// per-client limits that successes do not feed, and windows that end.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "runtime/client_address.hpp"
#include "runtime/throttle.hpp"
#include "support/run_coro.hpp"

namespace outboard::runtime {
namespace {

namespace asio = boost::asio;
using core::Millis;
using testing::run_coro;

TEST(Throttle, LockoutStartsAtTheLimitDoublesAndIsCapped) {
  ThrottlePolicy p;
  p.account_failures = 3;
  p.lockout_base = Millis(1000);
  p.lockout_max = Millis(5000);
  EXPECT_EQ(lockout_after(2, p), Millis(0));
  EXPECT_EQ(lockout_after(3, p), Millis(1000));
  EXPECT_EQ(lockout_after(4, p), Millis(2000));
  EXPECT_EQ(lockout_after(5, p), Millis(4000));
  EXPECT_EQ(lockout_after(6, p), Millis(5000));
  EXPECT_EQ(lockout_after(1'000'000, p), Millis(5000));
  p.account_failures = 0;
  EXPECT_EQ(lockout_after(1'000'000, p), Millis(0));
}

TEST(Throttle, TooManyRequestsCarriesReasonAndRetryAfterInWholeSeconds) {
  auto res = too_many_requests("login_throttled", "wait", Millis(1500));
  EXPECT_EQ(res.result_int(), 429);
  EXPECT_EQ(res[http::bhttp::field::retry_after], "2");
  EXPECT_NE(res.body().find("\"login_throttled\""), std::string::npos);
  EXPECT_EQ(too_many_requests("x", "y", Millis(0))[http::bhttp::field::retry_after], "1");
}

class ThrottleStore : public ::testing::Test {
 protected:
  ThrottleStore() {
    state::StoreOptions options;
    options.clock = &clock_;
    provider_ = state::open_store("memory://", options);
    store_ = provider_->store_for(io_.get_executor());
    policy_.account_failures = 3;
    policy_.client_failures = 5;
    policy_.failure_window = Millis(60'000);
    policy_.lockout_base = Millis(10'000);
    policy_.lockout_max = Millis(40'000);
    policy_.signups_per_client = 2;
    policy_.signup_window = Millis(60'000);
  }
  std::optional<Millis> login_wait(std::string user, std::string client) {
    auto r = run_coro(io_, throttle().login_wait(user, client));
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  }
  void fail(std::string user, std::string client) { ASSERT_TRUE(run_coro(io_, throttle().login_failed(user, client))); }
  AuthThrottle throttle() { return AuthThrottle(*store_, policy_); }

  asio::io_context io_;
  core::ManualClock clock_;
  std::unique_ptr<state::StoreProvider> provider_;
  std::shared_ptr<state::Store> store_;
  ThrottlePolicy policy_;
};

TEST_F(ThrottleStore, AnAccountLocksAtTheLimitAndLongerOnEachFurtherFailure) {
  fail("ada", "10.0.0.1");
  fail("ada", "10.0.0.2");
  EXPECT_EQ(login_wait("ada", "10.0.0.3"), std::nullopt);
  fail("ada", "10.0.0.3");
  EXPECT_EQ(login_wait("ada", "10.0.0.4"), Millis(10'000)) << "locked for any client";
  EXPECT_EQ(login_wait("bob", "10.0.0.4"), std::nullopt) << "other accounts are not";
  clock_.advance(Millis(10'000));
  EXPECT_EQ(login_wait("ada", "10.0.0.4"), std::nullopt);
  fail("ada", "10.0.0.4");
  EXPECT_EQ(login_wait("ada", "10.0.0.4"), Millis(20'000));
}

TEST_F(ThrottleStore, ASuccessForgetsTheAccountsFailures) {
  fail("ada", "10.0.0.1");
  fail("ada", "10.0.0.1");
  ASSERT_TRUE(run_coro(io_, throttle().login_succeeded("ada")));
  fail("ada", "10.0.0.1");
  EXPECT_EQ(login_wait("ada", "10.0.0.1"), std::nullopt);
}

TEST_F(ThrottleStore, AClientOverItsFailuresWaitsForTheWindowWhateverTheName) {
  for (int i = 0; i < 5; ++i) fail("user" + std::to_string(i), "203.0.113.7");
  auto wait = login_wait("someone-else", "203.0.113.7");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, Millis(60'000));
  EXPECT_EQ(login_wait("someone-else", "203.0.113.8"), std::nullopt);
  clock_.advance(Millis(60'000));
  EXPECT_EQ(login_wait("someone-else", "203.0.113.7"), std::nullopt);
}

TEST_F(ThrottleStore, SignupsPerClientAreCountedPerWindow) {
  auto signup = [&](std::string client) {
    auto r = run_coro(io_, throttle().signup_wait(client));
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  };
  EXPECT_EQ(signup("10.0.0.1"), std::nullopt);
  EXPECT_EQ(signup("10.0.0.1"), std::nullopt);
  EXPECT_EQ(signup("10.0.0.1"), Millis(60'000));
  EXPECT_EQ(signup("10.0.0.2"), std::nullopt);
  clock_.advance(Millis(60'000));
  EXPECT_EQ(signup("10.0.0.1"), std::nullopt);
}

// A counter left without a TTL (the process died between its count and its expire) must not
// block its client for ever: the next check gives it a window.
TEST_F(ThrottleStore, ACounterThatLostItsTtlGetsAWindowBack) {
  for (int i = 0; i < 5; ++i) fail("user" + std::to_string(i), "203.0.113.7");
  ASSERT_TRUE(run_coro(io_, store_->set("throttle:client:203.0.113.7:login_failures", "5")));  // no TTL
  EXPECT_EQ(login_wait("x", "203.0.113.7"), Millis(60'000));
  clock_.advance(Millis(60'000));
  EXPECT_EQ(login_wait("x", "203.0.113.7"), std::nullopt);
}

// One bucket for every client whose address is unknown would let one of them throttle all.
TEST_F(ThrottleStore, AnUnknownClientIsNotLimitedPerClient) {
  for (int i = 0; i < 10; ++i) fail("user" + std::to_string(i), kUnknownClient);
  EXPECT_EQ(login_wait("someone", kUnknownClient), std::nullopt);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*run_coro(io_, throttle().signup_wait(kUnknownClient)), std::nullopt);
}

TEST_F(ThrottleStore, ZeroLimitsTurnChecksOff) {
  policy_.account_failures = 0;
  policy_.client_failures = 0;
  policy_.signups_per_client = 0;
  for (int i = 0; i < 10; ++i) fail("ada", "10.0.0.1");
  EXPECT_EQ(login_wait("ada", "10.0.0.1"), std::nullopt);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*run_coro(io_, throttle().signup_wait("10.0.0.1")), std::nullopt);
}

}  // namespace
}  // namespace outboard::runtime
