// Two `outboard serve` processes and one browser: with the state outboard (one sqlite file shared
// by both processes) a session started on A is honoured by B; with the state inside each process
// (memory://) it is not, which is exactly the failure the project exists to remove.
#include <gtest/gtest.h>

#include <string>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

TEST(ServeSharedState, SqliteSessionStartedOnAIsValidOnB) {
  TempDir dir;
  std::string state = "sqlite://" + (dir / "state.db").string();
  auto keys = std::vector<std::string>{make_session_key()};
  ServeProcess a(serve_instance("A", state, keys));
  ServeProcess b(serve_instance("B", state, keys));

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

  // The account is shared too: B can log the same user in again.
  HttpClient second(b.port());
  auto login_b = second.post("/login", credentials_json("ada", kPassword));
  EXPECT_EQ(login_b.status, 200) << login_b.body;
  EXPECT_EQ(login_b.header("X-Served-By"), b.instance());
  // And a name taken on A is taken on B.
  expect_json_error(second.post("/signup", credentials_json("ada", kPassword)), 409);

  // Logout through B ends the session for A as well: it ended in the shared store.
  auto out = browser.request_to(b.port(), "POST", "/logout");
  EXPECT_EQ(out.status, 200) << out.body;
  auto me_a = browser.request_to(a.port(), "GET", "/me");
  expect_json_error(me_a, 401);
  EXPECT_EQ(me_a.header("X-Served-By"), a.instance());
}

// The stateful anti-pattern, kept on purpose: two processes with memory:// state and the SAME
// signing keys. The cookie verifies on B (same keys) but the session it names lives only in A's
// memory, so B sees an anonymous request. If memory state were ever shared between processes
// (or the session were carried in the cookie itself), the 401 below would become 200 and this
// test would fail: it is how the lab's `stateful` mode is proved to lose sessions.
TEST(ServeSharedState, MemoryStateIsNotSharedBetweenProcesses) {
  auto keys = std::vector<std::string>{make_session_key()};
  ServeProcess a(serve_instance("A", "memory://", keys));
  ServeProcess b(serve_instance("B", "memory://", keys));

  HttpClient browser(a.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  ASSERT_TRUE(browser.cookie(kSessionCookie));

  auto me_b = browser.request_to(b.port(), "GET", "/me");
  expect_json_error(me_b, 401, "unauthorized");
  EXPECT_EQ(me_b.header("X-Served-By"), b.instance());

  auto me_a = browser.request_to(a.port(), "GET", "/me");
  EXPECT_EQ(me_a.status, 200) << me_a.body;
  EXPECT_EQ(me_a.json().value("user", ""), "ada");
  EXPECT_EQ(me_a.header("X-Served-By"), a.instance());

  // The account itself exists only on A too.
  HttpClient other(b.port());
  expect_json_error(other.post("/login", credentials_json("ada", kPassword)), 401);
}

// Different signing keys and one shared store: B cannot verify A's cookie, so the request is
// anonymous (not an error). Shows why instances of one service must share their keys.
TEST(ServeSharedState, CookieSignedWithAnotherKeyIsAnonymous) {
  TempDir dir;
  std::string state = "sqlite://" + (dir / "state.db").string();
  ServeProcess a(serve_instance("A", state, {make_session_key()}));
  ServeProcess b(serve_instance("B", state, {make_session_key()}));

  HttpClient browser(a.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  expect_json_error(browser.request_to(b.port(), "GET", "/me"), 401, "unauthorized");
  EXPECT_EQ(browser.request_to(a.port(), "GET", "/me").status, 200);
}

// Key rotation across a deploy: B signs with a new key but still accepts the old one, so a
// session started on A (old key only) stays valid on B.
TEST(ServeSharedState, RotatedKeysStillAcceptTheOldKey) {
  TempDir dir;
  std::string state = "sqlite://" + (dir / "state.db").string();
  std::string old_key = make_session_key();
  std::string new_key = make_session_key();
  ServeProcess a(serve_instance("A", state, {old_key}));
  ServeProcess b(serve_instance("B", state, {new_key, old_key}));

  HttpClient browser(a.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  auto me_b = browser.request_to(b.port(), "GET", "/me");
  EXPECT_EQ(me_b.status, 200) << me_b.body;
  EXPECT_EQ(me_b.json().value("user", ""), "ada");
}

// Without configured keys, instances sharing a session store share the key kept in that store
// (the first one to start writes it), so their cookies are interchangeable.
TEST(ServeSharedState, SqliteKeysKeptInTheStoreAreShared) {
  TempDir dir;
  std::string state = "sqlite://" + (dir / "state.db").string();
  ServeOptions oa = serve_instance("A", state, {});
  ServeOptions ob = serve_instance("B", state, {});
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
