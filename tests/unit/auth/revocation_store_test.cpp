// Revocation of access tokens on sqlite (a temp file) and a private redis-server: the ended login
// (family) and the denylist per jti with their TTLs, the per-user not-before time with its TTL, and what check() answers.
#include <gtest/gtest.h>

#include "auth/revocation.hpp"
#include "refresh_store_fixture.hpp"

namespace outboard::auth {
namespace {

using namespace std::chrono_literals;

class RevocationTest : public testing_support::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    revocation_ = std::make_unique<Revocation>(*store_, clock_, policy_);
  }

  // A token of `user` issued `age` ago, valid for the policy's access lifetime.
  AccessClaims token(std::string user, std::string jti, core::Millis age = 0ms) {
    std::int64_t issued = clock_.now_ms() - age.count();
    return AccessClaims{std::move(user), std::move(jti), issued, issued + policy_.access_lifetime.count(), ""};
  }

  AccessVerdict check(AccessClaims const& claims) { return ok(revocation_->check(claims)); }

  // The key's TTL: exact on sqlite (the ManualClock stands still), at most it on redis.
  void expect_ttl(std::string const& key, core::Millis expected) {
    std::int64_t left = ok(store_->pttl(key));
    if (on_redis()) {
      EXPECT_GT(left, expected.count() - 5000);
      EXPECT_LE(left, expected.count());
    } else {
      EXPECT_EQ(left, expected.count());
    }
  }

  RevocationPolicy policy_;
  std::unique_ptr<Revocation> revocation_;
};

TEST_P(RevocationTest, ALoggedOutTokenIsDeniedUntilItWouldHaveExpired) {
  auto mine = token("ada", "jti-1", 5min);
  auto my_other_device = token("ada", "jti-2", 5min);
  EXPECT_EQ(check(mine), AccessVerdict::valid);
  ok(revocation_->revoke_token(mine));
  EXPECT_EQ(check(mine), AccessVerdict::token_revoked);
  EXPECT_EQ(check(my_other_device), AccessVerdict::valid);
  // Remaining lifetime (15 - 5 minutes) plus the verifier's leeway, no longer.
  expect_ttl(denied_token_key("jti-1"), 10min + policy_.leeway);
  if (!on_redis()) {
    clock_.advance(10min + policy_.leeway);
    EXPECT_EQ(ok(store_->pttl(denied_token_key("jti-1"))), state::kNoKey);
  }
}

// A logout ends the login: the token presented, and every other access token of the same family
// (one minted before a refresh, still within its lifetime), but not another login's.
TEST_P(RevocationTest, ALogoutRefusesEveryAccessTokenOfThatLoginAndNoOther) {
  auto before_refresh = token("ada", "jti-a", 3min);
  before_refresh.family = "fam-1";
  auto current = token("ada", "jti-b", 1min);
  current.family = "fam-1";
  auto other_login = token("ada", "jti-c", 1min);
  other_login.family = "fam-2";
  ok(revocation_->revoke_token(current));
  EXPECT_EQ(check(current), AccessVerdict::token_revoked);
  EXPECT_EQ(check(before_refresh), AccessVerdict::token_revoked);
  EXPECT_EQ(check(other_login), AccessVerdict::valid);
  // Every token of the login was minted by now: one lifetime (plus leeway) covers them all.
  expect_ttl(ended_login_key("fam-1"), policy_.access_lifetime + policy_.leeway);
  EXPECT_EQ(ok(store_->pttl(denied_token_key("jti-b"))), state::kNoKey);
}

TEST_P(RevocationTest, LoggingOutAnExpiredTokenWritesNothing) {
  auto old = token("ada", "jti-old", policy_.access_lifetime + policy_.leeway);
  ok(revocation_->revoke_token(old));
  EXPECT_EQ(ok(store_->pttl(denied_token_key("jti-old"))), state::kNoKey);
}

// Log out everywhere (or a password change): every token issued until now is refused, whatever
// its jti; tokens issued afterwards, and other users' tokens, are not.
TEST_P(RevocationTest, LogoutAllRefusesEveryTokenIssuedUntilThen) {
  auto phone = token("ada", "p", 10min);
  auto laptop = token("ada", "l", 1ms);
  auto same_instant = token("ada", "s");
  auto bob = token("bob", "b", 1min);
  ok(revocation_->revoke_user("ada"));
  EXPECT_EQ(check(phone), AccessVerdict::user_revoked);
  EXPECT_EQ(check(laptop), AccessVerdict::user_revoked);
  EXPECT_EQ(check(same_instant), AccessVerdict::user_revoked) << "issued at the logout-all instant";
  EXPECT_EQ(check(bob), AccessVerdict::valid);
  // Kept as long as any token issued before it can live.
  expect_ttl(user_not_before_key("ada"), policy_.access_lifetime + policy_.leeway);
  clock_.advance(1ms);
  EXPECT_EQ(check(token("ada", "after")), AccessVerdict::valid);
}

TEST_P(RevocationTest, ASecondsPrecisionIatIsRefusedForTheWholeSecondOfTheLogoutAll) {
  clock_.advance(400ms);  // mid-second
  std::int64_t second_start = clock_.now_ms() / 1000 * 1000;
  ok(revocation_->revoke_user("ada"));
  AccessClaims same_second{"ada", "x", second_start, second_start + policy_.access_lifetime.count(), ""};
  EXPECT_EQ(check(same_second), AccessVerdict::user_revoked);
  AccessClaims next_second{"ada", "y", second_start + 1000, second_start + 1000 + policy_.access_lifetime.count(), ""};
  EXPECT_EQ(check(next_second), AccessVerdict::valid);
}

INSTANTIATE_TEST_SUITE_P(Backends, RevocationTest, ::testing::Values("sqlite", "redis"), testing_support::backend_name);

}  // namespace
}  // namespace outboard::auth
