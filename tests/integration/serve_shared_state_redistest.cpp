// Two `outboard serve` processes on ONE private redis-server: a session started on A is honoured
// by B, and ended on B it is gone for A.
#include <gtest/gtest.h>

#include <string>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

TEST(ServeSharedStateRedis, SessionStartedOnAIsValidOnB) {
  RedisServer redis;
  auto keys = std::vector<std::string>{make_session_key()};
  ServeProcess a(serve_instance("A", redis.url(), keys));
  ServeProcess b(serve_instance("B", redis.url(), keys));

  HttpClient browser(a.port());
  auto signed_up = browser.post("/signup", credentials_json("ada", kPassword));
  ASSERT_EQ(signed_up.status, 201) << signed_up.body;
  auto logged_in = browser.post("/login", credentials_json("ada", kPassword));
  ASSERT_EQ(logged_in.status, 200) << logged_in.body;
  EXPECT_EQ(logged_in.header("X-Served-By"), a.instance());
  ASSERT_TRUE(browser.cookie(kSessionCookie));

  auto me_b = browser.request_to(b.port(), "GET", "/me");
  ASSERT_EQ(me_b.status, 200) << me_b.body;
  EXPECT_EQ(me_b.json().value("user", ""), "ada");
  EXPECT_EQ(me_b.json().value("instance", ""), b.instance());
  EXPECT_EQ(me_b.header("X-Served-By"), b.instance());

  HttpClient second(b.port());
  expect_json_error(second.post("/signup", credentials_json("ada", kPassword)), 409);
  EXPECT_EQ(second.post("/login", credentials_json("ada", kPassword)).status, 200);

  auto out = browser.request_to(b.port(), "POST", "/logout");
  EXPECT_EQ(out.status, 200) << out.body;
  auto me_a = browser.request_to(a.port(), "GET", "/me");
  expect_json_error(me_a, 401);
  EXPECT_EQ(me_a.header("X-Served-By"), a.instance());
}

// Without configured keys, instances sharing a session store share the key kept in that store
// (the first one to start writes it), so their cookies are interchangeable.
TEST(ServeSharedStateRedis, KeysKeptInTheStoreAreShared) {
  RedisServer redis;
  ServeOptions oa = serve_instance("A", redis.url(), {});
  ServeOptions ob = serve_instance("B", redis.url(), {});
  oa.keys_in_store = true;
  ob.keys_in_store = true;
  ServeProcess a(oa);
  ServeProcess b(ob);

  HttpClient browser(a.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  auto me_b = browser.request_to(b.port(), "GET", "/me");
  EXPECT_EQ(me_b.status, 200) << me_b.body;
  EXPECT_EQ(me_b.json().value("user", ""), "ada");
}

}  // namespace
}  // namespace outboard::testing
