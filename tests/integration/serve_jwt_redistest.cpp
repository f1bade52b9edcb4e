// Revocation of access tokens across two `outboard serve --auth jwt` processes on one private
// redis-server, both with the near-cache on: B answers a warm revocation check from its cache
// (no command sent), and once the invalidation of A's logout (or log out everywhere) has reached
// B, B refuses the token. Waits for B's invalidation counter (its /metrics), never for time.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "integration/http_expectations.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/jwt_test_keys.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

// One series of the sessions store's near-cache on `port`; -1 when missing.
double near_cache_series(std::uint16_t port, std::string const& family) {
  return metric_sample(port, "outboard_near_cache_" + family + "{store=\"sessions\"}");
}

// B serves `token` twice, the second time with its revocation check from the near-cache.
void warm(HttpClient& client, std::uint16_t b, std::string const& token) {
  ASSERT_EQ(me(client, b, token).status, 200);
  double hits = near_cache_series(b, "hits_total");
  ASSERT_EQ(me(client, b, token).status, 200);
  ASSERT_GT(near_cache_series(b, "hits_total"), hits) << "B did not check revocation from its cache";
}

void expect_refused_on(HttpClient& client, std::uint16_t port, std::string const& token) {
  auto res = me(client, port, token);
  EXPECT_EQ(res.status, 401) << res.body;
  EXPECT_EQ(res.header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
}

// A private redis-server and the key files for `serve --auth jwt` instances on it.
struct RedisTokens {
  RedisServer redis;
  TempDir dir;
  TestSigningKey key{"k1"};
  RedisTokens() { write_refresh_key_file(dir / "refresh.key"); }
  ServeOptions instance() const {
    ServeOptions o;
    o.state = redis.url();
    o.env = token_env("jwt", key, dir.path(), dir / "refresh.key");
    return o;
  }
};

TEST(ServeJwtNearCache, LogoutAndLogoutAllOnAAreRefusedOnBAfterTheInvalidation) {
  RedisTokens setup;
  ServeOptions o = setup.instance();
  o.extra_args = {"--near-cache-entries", "1000"};
  o.name = "A";
  ServeProcess a(o);
  o.name = "B";
  ServeProcess b(o);
  ASSERT_TRUE(wait_for([&] { return near_cache_series(b.port(), "linked") == 1; }));

  HttpClient c(a.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  auto first = c.post("/login", credentials_json("ada", kPassword)).json();
  auto second = c.post("/login", credentials_json("ada", kPassword)).json();
  std::string token = first["access_token"];
  warm(c, b.port(), token);

  double invalidations = near_cache_series(b.port(), "invalidations_total");
  ASSERT_EQ(c.request("POST", "/logout", {}, {{"Authorization", "Bearer " + token}}).status, 200);
  ASSERT_TRUE(wait_for([&] { return near_cache_series(b.port(), "invalidations_total") > invalidations; }));
  expect_refused_on(c, b.port(), token);
  EXPECT_EQ(metric_sample(b.port(), "outboard_auth_bearer_rejections_total{reason=\"token_revoked\"}"), 1);

  std::string other = second["access_token"];
  warm(c, b.port(), other);
  invalidations = near_cache_series(b.port(), "invalidations_total");
  ASSERT_EQ(c.request("POST", "/logout/all", {}, {{"Authorization", "Bearer " + other}}).status, 200);
  ASSERT_TRUE(wait_for([&] { return near_cache_series(b.port(), "invalidations_total") > invalidations; }));
  expect_refused_on(c, b.port(), other);
  EXPECT_EQ(metric_sample(b.port(), "outboard_auth_bearer_rejections_total{reason=\"user_revoked\"}"), 1);
}

// Losing the store must not look like being logged out: the revocation check and a refresh
// that cannot reach redis answer 503 with Retry-After, never 401.
TEST(ServeJwtStoreDown, ABearerRequestAndARefreshAre503WhileTheStoreIsDown) {
  RedisTokens setup;
  ServeProcess serve(setup.instance());
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  auto login = c.post("/login", credentials_json("ada", kPassword)).json();
  ASSERT_EQ(me(c, serve.port(), login["access_token"]).status, 200);

  setup.redis.kill();
  auto down = me(c, serve.port(), login["access_token"]);
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_TRUE(down.header("Retry-After"));
  auto refresh = c.post("/token/refresh", nlohmann::json{{"refresh_token", login["refresh_token"]}}.dump());
  EXPECT_EQ(refresh.status, 503) << refresh.body;

  setup.redis.restart();  // appendfsync always: the family survived, and the same token still works
  ASSERT_TRUE(wait_for([&] { return me(c, serve.port(), login["access_token"]).status == 200; }));
  // Each of the thread's connections comes back on its own (a bearer check reading through the
  // near-cache may succeed before the connection a refresh writes on is up): a 503 until then,
  // which writes nothing, so asking again is what a client does.
  HttpResponse later;
  ASSERT_TRUE(wait_for([&] {
    later = c.post("/token/refresh", nlohmann::json{{"refresh_token", login["refresh_token"]}}.dump());
    return later.status != 503;
  }));
  EXPECT_EQ(later.status, 200) << later.body;
}

}  // namespace
}  // namespace outboard::testing
