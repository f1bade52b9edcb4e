// The session store goes away under a running `outboard serve`: requests that need it get a 503
// with Retry-After (never a 401 that would log the user out, never a fresh session) whose detail
// never names the store's address; the loss and the return are logged once each, with the
// address; readiness stays true by default (a shared store's outage is every server's, see
// Service::readiness) and says so; and once redis is back the very same session works again.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

// Lines of `log` that contain `needle`.
int count_lines(std::string const& log, std::string const& needle) {
  std::istringstream in(log);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

// No answer may tell a client where the store lives: not its host, not its port.
void expect_no_store_address(std::vector<HttpResponse> const& answers, RedisServer const& redis) {
  for (auto const& res : answers) {
    EXPECT_EQ(res.body.find("127.0.0.1"), std::string::npos) << res.status << " " << res.body;
    EXPECT_EQ(res.body.find(std::to_string(redis.port())), std::string::npos) << res.status << " " << res.body;
  }
}

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
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json().value("store", ""), "unreachable") << ready.body;
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
  expect_no_store_address({down, ready, login, signup, logout}, redis);

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
  // Each worker thread has its own store connection and reconnects on its own; the return is
  // logged by the first thread that had failed and answers again. Readiness (answered by
  // whichever thread took the connection) is polled until that line is there.
  std::string const back_line = "store (redis 127.0.0.1:" + std::to_string(redis.port()) + "/0) reachable again";
  while (count_lines(serve.log(), back_line) == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no 'reachable again' line within 15 s:\n" << serve.log();
    EXPECT_EQ(browser.get("/readyz").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Many requests failed, on both threads maybe: one line for the loss, one for the return.
  std::string const lost_line = "store (redis 127.0.0.1:" + std::to_string(redis.port()) + "/0) unreachable: ";
  EXPECT_EQ(count_lines(serve.log(), lost_line), 1) << serve.log();
  EXPECT_EQ(count_lines(serve.log(), back_line), 1) << serve.log();
}

// A shared store's outage is not this server's fault: /readyz stays 200 and says so, unless the
// operator asked for the strict rule (readyz.require_store), which answers 503 as before.
TEST(ServeStoreDown, ReadinessStaysWithASharedStoreDownUnlessRequired) {
  RedisServer redis;
  ServeOptions options;
  options.name = "lenient";
  options.state = redis.url();
  options.extra_args = {"--store-timeout-ms", "500"};
  ServeProcess lenient(options);
  options.name = "strict";
  options.extra_args.push_back("--readyz-require-store");
  ServeProcess strict(options);
  HttpClient client(lenient.port());
  auto ok = client.get("/readyz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.json().value("store", ""), "ok") << ok.body;
  EXPECT_EQ(client.request_to(strict.port(), "GET", "/readyz").status, 200);

  redis.kill();
  auto ready = client.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json().value("ready", false), true) << ready.body;
  EXPECT_EQ(ready.json().value("store", ""), "unreachable") << ready.body;
  auto strict_ready = client.request_to(strict.port(), "GET", "/readyz");
  expect_json_error(strict_ready, 503, "store_unavailable");
  expect_no_store_address({ready, strict_ready}, redis);
  // Anonymous /me needs no store read (no cookie): still a plain 401.
  expect_json_error(client.get("/me"), 401);
  // What needs the store is still refused.
  expect_unavailable(client.post("/signup", credentials_json("eve", kPassword)), lenient.instance());

  redis.restart();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (client.request_to(strict.port(), "GET", "/readyz").status != 200) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "not ready again within 15 s of redis restarting";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace
}  // namespace outboard::testing
