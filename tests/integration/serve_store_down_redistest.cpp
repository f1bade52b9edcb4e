// The session store goes away under a running `outboard serve`: requests that need it get a 503
// with Retry-After (never a 401 that would log the user out, never a fresh session), readiness
// turns false, and once redis is back the very same session works again.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

constexpr char kPassword[] = "correct-horse";

void expect_unavailable(HttpResponse const& res, std::string const& instance) {
  expect_json_error(res, 503);
  EXPECT_TRUE(res.header("Retry-After").has_value()) << "a 503 without Retry-After: " << res.body;
  EXPECT_TRUE(res.headers_named("Set-Cookie").empty())
      << "no session may be started or cleared while the store is down: " << res.headers_named("Set-Cookie")[0];
  EXPECT_EQ(res.header("X-Served-By"), instance);
}

TEST(ServeStoreDown, RedisDownIs503ThenTheSameSessionWorksAgain) {
  RedisServer redis;
  ServeOptions options;
  options.name = "store-down";
  options.state = redis.url();
  options.extra_args = {"--store-timeout-ms", "500"};
  ServeProcess serve(options);

  HttpClient browser(serve.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  auto cookie = browser.cookie(kSessionCookie);
  ASSERT_TRUE(cookie);
  auto me = browser.get("/me");
  ASSERT_EQ(me.status, 200) << me.body;

  redis.kill();

  auto down = browser.get("/me");
  expect_unavailable(down, serve.instance());
  EXPECT_NE(down.status, 401) << "a store outage must not look like a logout";
  EXPECT_EQ(browser.cookie(kSessionCookie), cookie) << "the browser's session cookie was changed";

  auto ready = browser.get("/readyz");
  expect_json_error(ready, 503);
  EXPECT_EQ(ready.header("X-Served-By"), serve.instance());

  // Logging in needs the account store: unavailable is not "wrong password".
  HttpClient other(serve.port());
  auto login = other.post("/login", credentials_json("ada", kPassword));
  expect_unavailable(login, serve.instance());
  auto signup = other.post("/signup", credentials_json("bob", kPassword));
  expect_unavailable(signup, serve.instance());
  // Logout cannot end the session in the store: it must say so, not pretend.
  auto logout = browser.post("/logout");
  EXPECT_EQ(logout.status, 503) << logout.body;
  EXPECT_EQ(browser.cookie(kSessionCookie), cookie);

  // The process itself is alive throughout.
  EXPECT_EQ(browser.get("/healthz").status, 200);

  redis.restart();

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  HttpResponse back;
  for (;;) {
    back = browser.get("/me");
    if (back.status == 200) break;
    ASSERT_EQ(back.status, 503) << "while redis comes back only 503 is acceptable: " << back.body;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the session did not come back within 15 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(back.json().value("user", ""), "ada") << back.body;
  EXPECT_EQ(browser.cookie(kSessionCookie), cookie);
  // Each worker thread has its own store connection and reconnects on its own, so readiness
  // (answered by whichever thread took the connection) is polled too.
  while (browser.get("/readyz").status != 200) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "not ready again within 15 s of redis restarting";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST(ServeStoreDown, ReadinessFollowsTheStore) {
  RedisServer redis;
  ServeOptions options;
  options.name = "store-down";
  options.state = redis.url();
  options.extra_args = {"--store-timeout-ms", "500"};
  ServeProcess serve(options);
  HttpClient client(serve.port());
  EXPECT_EQ(client.get("/readyz").status, 200);

  redis.kill();
  auto ready = client.get("/readyz");
  expect_json_error(ready, 503, "store_unavailable");
  // Anonymous /me needs no store read (no cookie): still a plain 401.
  expect_json_error(client.get("/me"), 401);

  redis.restart();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (client.get("/readyz").status != 200) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "not ready again within 15 s of redis restarting";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace
}  // namespace outboard::testing
