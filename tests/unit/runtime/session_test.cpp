// Sessions over every backend: creation on first write, fixation, key rotation, idle and
// absolute timeouts (on a ManualClock, no sleeping), tampered cookies, and 50 concurrent
// requests writing different fields of one session without losing any.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "core/random.hpp"
#include "http/cookies.hpp"
#include "runtime/session.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::runtime {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

std::string new_key() { return core::random_bytes(32); }

// The cookie value a response set, or "" when it set none.
std::string cookie_from(http::Response const& res, std::string const& name) {
  for (auto const& field : res) {
    if (field.name() != http::bhttp::field::set_cookie) continue;
    std::string_view v = field.value();
    if (!v.starts_with(name + "=")) continue;
    v.remove_prefix(name.size() + 1);
    return std::string(v.substr(0, v.find(';')));
  }
  return "";
}

class SessionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    state::StoreOptions options;
    options.clock = &clock_;
    if (GetParam() == "memory") {
      provider_ = state::open_store("memory://", options);
    } else if (GetParam() == "sqlite") {
      provider_ = state::open_store("sqlite://" + (dir_ / "s.db").string(), options);
    } else {
      redis_ = std::make_unique<testing::RedisServer>();
      provider_ = state::open_store(redis_->url(), options);
    }
    store_ = provider_->store_for(io_.get_executor());
    policy_.touch_interval = 0ms;
  }

  SessionEnv env() { return SessionEnv{*store_, *signer_, policy_, clock_}; }
  std::string header(std::string const& cookie) { return cookie.empty() ? "" : policy_.cookie_name + "=" + cookie; }

  // One request: optional writes, optional login/logout; returns the cookie it set (or "").
  std::string request(std::string const& cookie, state::Fields writes, bool regenerate = false,
                      bool destroy = false) {
    auto op = [&]() -> state::Async<std::string> {
      Session s(env(), header(cookie));
      for (auto& [f, v] : writes) s.set(f, v);
      if (regenerate) s.regenerate();
      if (destroy) s.destroy();
      http::Response res;
      auto r = co_await s.commit(res);
      if (!r) co_return r.error();
      co_return cookie_from(res, policy_.cookie_name);
    };
    auto r = run_coro(io_, op());
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() ? *r : "";
  }

  std::optional<std::string> read(std::string const& cookie, std::string const& field) {
    auto op = [&]() -> state::Async<std::optional<std::string>> {
      Session s(env(), header(cookie));
      auto v = co_await s.get(field);
      http::Response res;
      if (auto c = co_await s.commit(res); !c) co_return c.error();
      co_return v;
    };
    auto r = run_coro(io_, op());
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() ? *r : std::nullopt;
  }

  core::ManualClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  boost::asio::io_context io_;
  std::unique_ptr<state::StoreProvider> provider_;
  std::shared_ptr<state::Store> store_;
  std::unique_ptr<CookieSigner> signer_ = std::make_unique<CookieSigner>(std::vector{new_key()});
  SessionPolicy policy_;
};

TEST_P(SessionTest, NothingIsStoredUntilTheFirstWrite) {
  EXPECT_EQ(read("", "user"), std::nullopt);
  EXPECT_EQ(request("", {}), "");  // an anonymous request that writes nothing sets no cookie
  std::string cookie = request("", {{"user", "ada"}});
  ASSERT_FALSE(cookie.empty());
  EXPECT_EQ(read(cookie, "user"), "ada");
}

TEST_P(SessionTest, SessionIdCarriesAtLeast128Bits) {
  std::string cookie = request("", {{"user", "ada"}});
  std::string id = cookie.substr(0, cookie.find('.'));
  std::string raw;
  ASSERT_TRUE(core::base64url_decode(id, raw));
  EXPECT_GE(raw.size() * 8, 128u);
  EXPECT_NE(request("", {{"user", "ada"}}), cookie);
}

TEST_P(SessionTest, LoginRegeneratesTheIdAgainstFixation) {
  // An attacker plants a session id in the victim's browser, then the victim logs in.
  std::string planted = request("", {{"cart", "x"}});
  std::string after_login = request(planted, {{"user", "victim"}}, /*regenerate=*/true);
  ASSERT_FALSE(after_login.empty());
  EXPECT_NE(after_login, planted);
  EXPECT_EQ(read(after_login, "user"), "victim");
  EXPECT_EQ(read(after_login, "cart"), "x");  // content survives the new id
  EXPECT_EQ(read(planted, "user"), std::nullopt);  // the planted id is dead
  EXPECT_EQ(read(planted, "cart"), std::nullopt);
}

TEST_P(SessionTest, TamperedCookieIsNoSession) {
  std::string cookie = request("", {{"user", "ada"}});
  std::string tampered = cookie;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(read(tampered, "user"), std::nullopt);
  std::string forged_id = (cookie[0] == 'x' ? "y" : "x") + cookie.substr(1);  // always a different id
  EXPECT_EQ(read(forged_id, "user"), std::nullopt);
  EXPECT_EQ(read("no-dot-at-all", "user"), std::nullopt);
  EXPECT_EQ(read(cookie, "user"), "ada");
}

TEST_P(SessionTest, SigningKeysRotate) {
  std::string old_key = new_key();
  signer_ = std::make_unique<CookieSigner>(std::vector{old_key});
  std::string old_cookie = request("", {{"user", "ada"}});

  // A new key goes in front: old cookies still verify, new ones are signed with the new key.
  std::string fresh_key = new_key();
  signer_ = std::make_unique<CookieSigner>(std::vector{fresh_key, old_key});
  EXPECT_EQ(read(old_cookie, "user"), "ada");
  std::string new_cookie = request("", {{"user", "bob"}});
  EXPECT_EQ(CookieSigner({fresh_key}).verify(new_cookie).has_value(), true);
  EXPECT_EQ(CookieSigner({old_key}).verify(new_cookie).has_value(), false);

  // Once the old key is retired, its cookies stop working.
  signer_ = std::make_unique<CookieSigner>(std::vector{fresh_key});
  EXPECT_EQ(read(old_cookie, "user"), std::nullopt);
  EXPECT_EQ(read(new_cookie, "user"), "bob");
}

TEST_P(SessionTest, IdleTimeoutIsRollingAndEnforcedServerSide) {
  policy_.idle_timeout = 10min;
  std::string cookie = request("", {{"user", "ada"}});
  clock_.advance(9min);
  EXPECT_EQ(read(cookie, "user"), "ada");  // used: the idle window starts again
  clock_.advance(9min);
  EXPECT_EQ(read(cookie, "user"), "ada");
  clock_.advance(10min);
  EXPECT_EQ(read(cookie, "user"), std::nullopt);  // idle too long
}

TEST_P(SessionTest, AbsoluteTimeoutEndsEvenABusySession) {
  policy_.idle_timeout = 10min;
  policy_.absolute_timeout = 30min;
  std::string cookie = request("", {{"user", "ada"}});
  for (int i = 0; i < 3; ++i) {
    clock_.advance(9min);
    EXPECT_EQ(read(cookie, "user"), "ada");
  }
  clock_.advance(4min);  // 31 minutes after creation, 4 since last use
  EXPECT_EQ(read(cookie, "user"), std::nullopt);
}

TEST_P(SessionTest, LogoutDestroysInTheStore) {
  std::string cookie = request("", {{"user", "ada"}});
  request(cookie, {}, false, /*destroy=*/true);
  EXPECT_EQ(read(cookie, "user"), std::nullopt);
}

TEST_P(SessionTest, FiftyParallelRequestsWritingDifferentFieldsLoseNone) {
  std::string cookie = request("", {{"user", "ada"}});
  auto one = [this, cookie](int i) -> state::Async<void> {
    Session s(env(), header(cookie));
    auto user = co_await s.get("user");  // each loads the session first, as a handler would
    if (!user) co_return user.error();
    s.set("field" + std::to_string(i), std::to_string(i));
    http::Response res;
    co_return co_await s.commit(res);
  };
  std::vector<std::future<state::Result<void>>> all;
  for (int i = 0; i < 50; ++i) all.push_back(boost::asio::co_spawn(io_, one(i), boost::asio::use_future));
  for (auto& f : all) {
    testing::run_until_ready(io_, f);
    auto r = f.get();
    EXPECT_TRUE(r.has_value()) << r.error().describe();
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(read(cookie, "field" + std::to_string(i)), std::to_string(i)) << i;
  EXPECT_EQ(read(cookie, "user"), "ada");
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionTest, ::testing::Values("memory", "sqlite", "redis"));

TEST(SessionStoreDown, AStoreErrorIsAnErrorNotAnonymous) {
  core::ManualClock clock;
  testing::RedisServer redis;
  state::StoreOptions options;
  options.clock = &clock;
  options.command_timeout = 300ms;
  auto provider = state::open_store(redis.url(), options);
  boost::asio::io_context io;
  auto store = provider->store_for(io.get_executor());
  CookieSigner signer({new_key()});
  SessionPolicy policy;
  SessionEnv env{*store, signer, policy, clock};

  auto write = [&]() -> state::Async<std::string> {
    Session s(env, "");
    s.set("user", "ada");
    http::Response res;
    if (auto r = co_await s.commit(res); !r) co_return r.error();
    co_return cookie_from(res, policy.cookie_name);
  };
  auto cookie = run_coro(io, write());
  ASSERT_TRUE(cookie.has_value());

  redis.kill();
  auto check = [&]() -> state::Async<bool> {
    Session s(env, policy.cookie_name + "=" + *cookie);
    co_return co_await s.exists();
  };
  auto down = run_coro(io, check());
  ASSERT_FALSE(down.has_value()) << "a dead store must not read as 'no session'";
  EXPECT_TRUE(down.error().transient());
}

}  // namespace
}  // namespace outboard::runtime
