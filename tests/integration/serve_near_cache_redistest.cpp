// Two `outboard serve` processes on one private redis-server, both with the near-cache on: B
// serves a session from its cache, and once the invalidation of A's logout has reached B, B
// answers 401. Waits for B's invalidation counter (its /metrics), never for time.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/gateway_process.hpp"
#include "support/redis_server.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

// One series of the sessions store's near-cache on `port`'s /metrics; -1 when missing.
double near_cache(std::uint16_t port, std::string const& family) {
  HttpClient scraper(port);
  auto page = scraper.get("/metrics");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(prometheus_text_problems(page.body).empty()) << page.body;
  auto samples = prometheus_samples(page.body);
  auto it = samples.find("outboard_near_cache_" + family + "{store=\"sessions\"}");
  return it == samples.end() ? -1 : it->second;
}

ServeOptions cached_instance(std::string name, std::string state, std::vector<std::string> keys) {
  ServeOptions o;
  o.name = std::move(name);
  o.state = std::move(state);
  o.session_keys = std::move(keys);
  o.extra_args = {"--near-cache-entries", "1000"};
  return o;
}

TEST(ServeNearCache, LogoutOnAIsA401OnBAfterTheInvalidation) {
  RedisServer redis;
  auto keys = std::vector<std::string>{make_session_key()};
  ServeProcess a(cached_instance("A", redis.url(), keys));
  ServeProcess b(cached_instance("B", redis.url(), keys));
  ASSERT_TRUE(wait_for([&] { return near_cache(b.port(), "linked") == 1; }));

  HttpClient browser(a.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  ASSERT_EQ(browser.request_to(b.port(), "GET", "/me").status, 200);
  // The second read of the session on B comes from B's cache: what the logout must evict.
  double hits = near_cache(b.port(), "hits_total");
  auto me_b = browser.request_to(b.port(), "GET", "/me");
  ASSERT_EQ(me_b.status, 200) << me_b.body;
  ASSERT_GT(near_cache(b.port(), "hits_total"), hits) << "B did not serve the session from its cache";

  double invalidations = near_cache(b.port(), "invalidations_total");
  // The cookie outlives the logout elsewhere (another tab, a copy): the logout must end the
  // session itself, on B too.
  auto cookie = browser.cookie(kSessionCookie);
  ASSERT_TRUE(cookie);
  ASSERT_EQ(browser.post("/logout").status, 200);  // on A
  browser.set_cookie(kSessionCookie, *cookie);
  ASSERT_TRUE(wait_for([&] { return near_cache(b.port(), "invalidations_total") > invalidations; }));
  auto after = browser.request_to(b.port(), "GET", "/me");
  expect_json_error(after, 401);
  EXPECT_EQ(after.header("X-Served-By"), b.instance());
}

}  // namespace
}  // namespace outboard::testing
