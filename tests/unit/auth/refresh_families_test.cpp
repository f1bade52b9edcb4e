// Refresh token families on sqlite (a temp file) and a private redis-server: rotation, racing
// rotations within the grace window (one io_context, and two store instances = two servers),
// reuse after it, logout, log-out-everywhere, expiry. The clock is a ManualClock; no sleeps.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "auth/refresh_families.hpp"
#include "refresh_store_fixture.hpp"

namespace outboard::auth {
namespace {

using namespace std::chrono_literals;

class RefreshFamiliesTest : public testing_support::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    log_ = std::make_shared<spdlog::logger>("refresh-test", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text_));
    families_ = std::make_unique<RefreshFamilies>(*store_, clock_, key_, policy_, counters_, log_);
  }

  IssuedRefresh login(std::string const& user) { return ok(families_->issue(user)); }

  // The successor, failing the test on a refusal or an error.
  IssuedRefresh rotated(std::string const& token, RefreshFamilies* families = nullptr) {
    auto r = run((families ? *families : *families_).rotate(token));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if (!r) return {};
    if (auto* refusal = std::get_if<RefreshRefusal>(&*r)) {
      ADD_FAILURE() << "refused: " << to_string(*refusal);
      return {};
    }
    return std::get<IssuedRefresh>(*r);
  }

  // The refusal; nullopt (a test failure) when it rotated or failed.
  std::optional<RefreshRefusal> refused(std::string const& token) {
    auto r = run(families_->rotate(token));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if (!r) return std::nullopt;
    if (auto* refusal = std::get_if<RefreshRefusal>(&*r)) return *refusal;
    ADD_FAILURE() << "rotated, expected a refusal";
    return std::nullopt;
  }

  // Two rotations of `token` started together on the test's io_context, each on its own object.
  std::pair<RotateOutcome, RotateOutcome> rotate_together(std::string const& token, RefreshFamilies& a,
                                                          RefreshFamilies& b) {
    auto first = boost::asio::co_spawn(io_, a.rotate(token), boost::asio::use_future);
    auto second = boost::asio::co_spawn(io_, b.rotate(token), boost::asio::use_future);
    testing::run_until_ready(io_, first);
    testing::run_until_ready(io_, second);
    auto x = first.get();
    auto y = second.get();
    EXPECT_TRUE(x.has_value() && y.has_value());
    if (!x || !y) return {RefreshRefusal::unknown, RefreshRefusal::unknown};
    return {*x, *y};
  }

  std::size_t families_in_index(std::string const& user) { return ok(store_->hgetall(user_families_key(user))).size(); }

  RefreshKey key_ = RefreshKey::generate();
  RefreshPolicy policy_;
  RefreshCounters counters_;
  std::ostringstream log_text_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<RefreshFamilies> families_;
};

TEST_P(RefreshFamiliesTest, ALoginIsStoredAsDigestsOnly) {
  auto issued = login("ada");
  auto token = RefreshToken::parse(issued.token);
  ASSERT_TRUE(token);
  EXPECT_EQ(issued.family, token->family);
  EXPECT_EQ(issued.expires_ms, clock_.now_ms() + policy_.family_lifetime.count());
  auto family = ok(store_->hgetall(family_key(issued.family)));
  EXPECT_EQ(family.size(), 3u);
  EXPECT_EQ(family["user"], "ada");
  std::string const secret_text = issued.token.substr(issued.token.find('.') + 1);
  for (auto const& [field, value] : family) EXPECT_EQ(value.find(secret_text), std::string::npos);
  EXPECT_EQ(ok(store_->hgetall(token_key(issued.family, token->digest()))).size(), 1u);
  EXPECT_EQ(families_in_index("ada"), 1u);
  EXPECT_EQ(ok(store_->pttl(family_key(issued.family))) > 0, true);
}

TEST_P(RefreshFamiliesTest, RotationGivesTheNextTokenInTheSameFamily) {
  auto first = login("ada");
  auto second = rotated(first.token);
  EXPECT_NE(second.token, first.token);
  EXPECT_EQ(second.family, first.family);
  EXPECT_EQ(second.user, "ada");
  EXPECT_EQ(second.expires_ms, first.expires_ms);
  auto third = rotated(second.token);
  EXPECT_NE(third.token, second.token);
  EXPECT_EQ(counters_.rotated.load(), 2u);
  EXPECT_EQ(families_in_index("ada"), 1u);
}

// Two requests of one client refresh with the same token at once (one event loop, one store):
// one conditional write wins; the other finds the token used a moment ago and gets the same
// successor. Both succeed, in one family, which goes on rotating.
TEST_P(RefreshFamiliesTest, RacingRotationsWithinTheGraceGetTheOneSuccessor) {
  auto first = login("ada");
  auto [x, y] = rotate_together(first.token, *families_, *families_);
  ASSERT_TRUE(std::holds_alternative<IssuedRefresh>(x)) << to_string(std::get<RefreshRefusal>(x));
  ASSERT_TRUE(std::holds_alternative<IssuedRefresh>(y)) << to_string(std::get<RefreshRefusal>(y));
  EXPECT_EQ(std::get<IssuedRefresh>(x).token, std::get<IssuedRefresh>(y).token);
  EXPECT_EQ(counters_.rotated.load(), 1u) << "both conditional writes won: the family forked";
  EXPECT_EQ(counters_.grace_replays.load(), 1u);
  EXPECT_EQ(counters_.reuse_revocations.load(), 0u);
  rotated(std::get<IssuedRefresh>(x).token);
  EXPECT_EQ(families_in_index("ada"), 1u);
}

// The same race between two servers: two store instances (connections, providers) on one backend.
TEST_P(RefreshFamiliesTest, RacingRotationsOnTwoServersGetTheOneSuccessor) {
  auto other_provider = open_provider();
  auto other_store = other_provider->store_for(io_.get_executor());
  RefreshCounters other_counters;
  RefreshFamilies other(*other_store, clock_, key_, policy_, other_counters, log_);

  auto first = login("ada");
  auto [x, y] = rotate_together(first.token, *families_, other);
  ASSERT_TRUE(std::holds_alternative<IssuedRefresh>(x));
  ASSERT_TRUE(std::holds_alternative<IssuedRefresh>(y));
  EXPECT_EQ(std::get<IssuedRefresh>(x).token, std::get<IssuedRefresh>(y).token);
  EXPECT_EQ(counters_.rotated.load() + other_counters.rotated.load(), 1u);
  EXPECT_EQ(counters_.grace_replays.load() + other_counters.grace_replays.load(), 1u);
  // Either server rotates the successor on.
  rotated(std::get<IssuedRefresh>(y).token, &other);
  other_store.reset();
}

TEST_P(RefreshFamiliesTest, AUseAtTheEndOfTheGraceStillGetsTheSuccessor) {
  auto first = login("ada");
  auto second = rotated(first.token);
  clock_.advance(policy_.grace);
  EXPECT_EQ(rotated(first.token).token, second.token);
  EXPECT_EQ(counters_.reuse_revocations.load(), 0u);
}

// A token that comes back after the grace was copied (or the client lost track): the family is
// ended, so the thief's and the owner's copies stop working alike; one log line names the family
// and the user, never a token.
TEST_P(RefreshFamiliesTest, AReuseAfterTheGraceEndsTheWholeFamily) {
  auto first = login("ada");
  auto second = rotated(first.token);
  auto other_login = login("ada");
  clock_.advance(policy_.grace + 1ms);

  EXPECT_EQ(refused(first.token), RefreshRefusal::reused);
  EXPECT_EQ(refused(second.token), RefreshRefusal::ended);
  EXPECT_EQ(refused(first.token), RefreshRefusal::ended) << "a second replay ends nothing more";
  EXPECT_EQ(counters_.reuse_revocations.load(), 1u);
  rotated(other_login.token);  // another login of the same user is not touched
  EXPECT_EQ(families_in_index("ada"), 1u);

  std::string const log = log_text_.str();
  EXPECT_NE(log.find("refresh_token_reuse"), std::string::npos) << log;
  EXPECT_NE(log.find(first.family), std::string::npos) << log;
  EXPECT_NE(log.find("\"user\":\"ada\""), std::string::npos) << log;
  for (auto const* token : {&first.token, &second.token}) {
    EXPECT_EQ(log.find(token->substr(token->find('.') + 1)), std::string::npos) << "a token secret was logged";
  }
  EXPECT_EQ(log.find("refresh_token_reuse"), log.rfind("refresh_token_reuse")) << "logged twice: " << log;
}

TEST_P(RefreshFamiliesTest, LogoutEndsTheFamilyAndOnlyIt) {
  auto phone = login("ada");
  auto laptop = login("ada");
  auto next = rotated(phone.token);
  EXPECT_TRUE(ok(families_->end_family(next.token)));
  EXPECT_EQ(refused(next.token), RefreshRefusal::ended);
  EXPECT_FALSE(ok(families_->end_family(next.token))) << "ended twice";
  rotated(laptop.token);
  EXPECT_EQ(families_in_index("ada"), 1u);
}

TEST_P(RefreshFamiliesTest, AForgedTokenNeitherRotatesNorEndsAFamily) {
  auto real = login("ada");
  RefreshToken forged{real.family, std::string(RefreshToken::kSecretBytes, 'x')};
  EXPECT_EQ(refused(forged.text()), RefreshRefusal::unknown);
  EXPECT_FALSE(ok(families_->end_family(forged.text())));
  EXPECT_EQ(refused("not a token"), RefreshRefusal::malformed);
  EXPECT_FALSE(ok(families_->end_family("not a token")));
  EXPECT_EQ(refused(RefreshToken::first_of_new_family().text()), RefreshRefusal::unknown);
  rotated(real.token);
}

TEST_P(RefreshFamiliesTest, LogOutEverywhereEndsEveryFamilyOfTheUser) {
  auto phone = login("ada");
  auto laptop = rotated(login("ada").token);
  auto someone_else = login("bob");
  EXPECT_EQ(ok(families_->end_all_families("ada")), 2u);
  EXPECT_EQ(refused(phone.token), RefreshRefusal::ended);
  EXPECT_EQ(refused(laptop.token), RefreshRefusal::ended);
  rotated(someone_else.token);
  EXPECT_EQ(families_in_index("ada"), 0u);
  auto again = login("ada");  // logging in afterwards works
  rotated(again.token);
  EXPECT_EQ(ok(families_->end_all_families("nobody")), 0u);
}

TEST_P(RefreshFamiliesTest, AnExpiredFamilyIsRefusedAsExpired) {
  policy_.family_lifetime = 60min;
  auto first = login("ada");
  auto second = rotated(first.token);
  clock_.advance(60min - 1ms);
  auto third = rotated(second.token);
  clock_.advance(1ms);
  EXPECT_EQ(refused(third.token), RefreshRefusal::expired);
}

// Every record expires by itself: the family's lifetime plus the linger, then nothing is left.
TEST_P(RefreshFamiliesTest, AFamilysRecordsExpireAfterItsLifetimeAndTheLinger) {
  policy_.family_lifetime = 60min;
  policy_.linger = 5min;
  auto first = login("ada");
  auto second = rotated(first.token);
  auto parsed = RefreshToken::parse(second.token);
  ASSERT_TRUE(parsed);
  std::int64_t const expected = core::Millis(60min + 5min).count();
  for (auto const& key : {family_key(first.family), token_key(parsed->family, parsed->digest()),
                          user_families_key("ada")}) {
    std::int64_t left = ok(store_->pttl(key));
    EXPECT_LE(left, expected) << key;
    EXPECT_GT(left, on_redis() ? expected - 5000 : expected - 1) << key;
  }
  if (on_redis()) return;  // redis keeps its own time; the manual clock moves sqlite's
  clock_.advance(60min + 5min);
  EXPECT_TRUE(ok(store_->hgetall(family_key(first.family))).empty());
  EXPECT_EQ(families_in_index("ada"), 0u);
  EXPECT_EQ(refused(second.token), RefreshRefusal::unknown);
}

INSTANTIATE_TEST_SUITE_P(Backends, RefreshFamiliesTest, ::testing::Values("sqlite", "redis"),
                         testing_support::backend_name);

}  // namespace
}  // namespace outboard::auth
