// Login and sign-up hardening of `outboard serve`, through real processes: the same KDF work for
// unknown and known users (counted in /metrics), throttling kept in the shared store (so it holds
// across instances), a configurable minimum password length, the __Host- cookie, and session
// keys from a file or the environment.
#include <gtest/gtest.h>

#include <charconv>
#include <fstream>
#include <string>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

// The value of an unlabelled counter in /metrics.
std::int64_t unlabelled_counter(std::uint16_t port, std::string const& name) {
  HttpClient client(port);
  auto res = client.get("/metrics");
  EXPECT_EQ(res.status, 200);
  auto at = res.body.find("\n" + name + " ");
  if (at == std::string::npos) {
    ADD_FAILURE() << name << " is not in /metrics:\n" << res.body;
    return -1;
  }
  std::int64_t value = -1;
  char const* begin = res.body.data() + at + name.size() + 2;
  std::from_chars(begin, res.body.data() + res.body.size(), value);
  return value;
}

TEST(ServeAuth, AnUnknownUserLoginDoesTheSameKdfWorkAsAKnownOne) {
  ServeProcess serve(ServeOptions{});
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  auto before = unlabelled_counter(serve.port(), "outboard_kdf_verifications_total");

  expect_json_error(c.post("/login", credentials_json("ada", "wrong-horse")), 401, "unauthorized");
  EXPECT_EQ(unlabelled_counter(serve.port(), "outboard_kdf_verifications_total"), before + 1);
  auto unknown = c.post("/login", credentials_json("nobody", "wrong-horse"));
  expect_json_error(unknown, 401, "unauthorized");
  EXPECT_EQ(unlabelled_counter(serve.port(), "outboard_kdf_verifications_total"), before + 2)
      << "a login for a name that does not exist skipped the password check";
}

TEST(ServeAuth, LoginThrottlingHoldsAcrossTwoInstancesSharingAStore) {
  TempDir dir;
  ServeOptions o;
  o.state = "sqlite://" + (dir / "state.db").string();
  o.env = {{"OUTBOARD_SERVE_THROTTLE_LOGIN_FAILURES_PER_ACCOUNT", "3"}};
  o.extra_args = {"--access-log"};
  o.name = "A";
  ServeProcess a(o);
  o.name = "B";
  ServeProcess b(o);

  HttpClient c(a.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  expect_json_error(c.request_to(a.port(), "POST", "/login", credentials_json("ada", "guess-one")), 401);
  expect_json_error(c.request_to(b.port(), "POST", "/login", credentials_json("ada", "guess-two")), 401);
  expect_json_error(c.request_to(a.port(), "POST", "/login", credentials_json("ada", "guess-three")), 401);

  // Locked on both instances, even with the right password.
  for (auto port : {b.port(), a.port()}) {
    auto locked = c.request_to(port, "POST", "/login", credentials_json("ada", kPassword));
    expect_json_error(locked, 429, "login_throttled");
    auto retry_after = locked.header("Retry-After");
    ASSERT_TRUE(retry_after);
    EXPECT_GE(std::stoi(*retry_after), 1);
  }
  // Another account is not locked.
  ASSERT_EQ(c.request_to(b.port(), "POST", "/signup", credentials_json("bob", kPassword)).status, 201);
  EXPECT_EQ(c.request_to(b.port(), "POST", "/login", credentials_json("bob", kPassword)).status, 200);

  // Seen: counted per route and status in /metrics, and in the access log.
  HttpClient scrape(a.port());
  auto metrics = scrape.get("/metrics").body;
  EXPECT_NE(metrics.find("route=\"/login\",method=\"POST\",status=\"429\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(a.log().find("\"status\":429"), std::string::npos) << a.log();
}

TEST(ServeAuth, SignupsArePerClientAndTheClientIsReadFromTrustedProxiesOnly) {
  ServeOptions o;
  o.env = {{"OUTBOARD_SERVE_THROTTLE_SIGNUPS_PER_CLIENT", "2"}};
  ServeProcess serve(o);
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("u1", kPassword)).status, 201);
  ASSERT_EQ(c.post("/signup", credentials_json("u2", kPassword)).status, 201);
  auto third = c.post("/signup", credentials_json("u3", kPassword));
  expect_json_error(third, 429, "signup_throttled");
  EXPECT_TRUE(third.header("Retry-After"));

  // Our peer is loopback, a trusted proxy by default: the client it names is another client.
  HeaderList via_gateway{{"X-Forwarded-For", "203.0.113.7"}};
  EXPECT_EQ(c.request("POST", "/signup", credentials_json("u4", kPassword), via_gateway).status, 201);
}

TEST(ServeAuth, AnUntrustedPeersForwardedForIsIgnored) {
  ServeOptions o;
  o.env = {{"OUTBOARD_SERVE_THROTTLE_SIGNUPS_PER_CLIENT", "1"}, {"OUTBOARD_SERVE_SERVER_TRUSTED_PROXIES", "10.0.0.0/8"}};
  ServeProcess serve(o);
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("u1", kPassword)).status, 201);
  HeaderList forged{{"X-Forwarded-For", "203.0.113.7"}};
  expect_json_error(c.request("POST", "/signup", credentials_json("u2", kPassword), forged), 429, "signup_throttled");
}

TEST(ServeAuth, PasswordsShorterThanTheConfiguredMinimumAre400) {
  ServeOptions o;
  o.env = {{"OUTBOARD_SERVE_AUTH_MIN_PASSWORD_LENGTH", "12"}};
  ServeProcess serve(o);
  HttpClient c(serve.port());
  expect_json_error(c.post("/signup", credentials_json("ada", "elevenchars")), 400, "password_too_short");
  EXPECT_EQ(c.post("/signup", credentials_json("ada", "twelve-chars")).status, 201);
}

TEST(ServeAuth, SecureCookieUsesTheHostPrefix) {
  ServeOptions o;
  o.extra_args = {"--secure-cookie"};
  ServeProcess serve(o);
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  auto login = c.post("/login", credentials_json("ada", kPassword));
  ASSERT_EQ(login.status, 200) << login.body;
  auto set_cookie = login.header("Set-Cookie").value_or("");
  EXPECT_TRUE(set_cookie.starts_with("__Host-ob_session=")) << set_cookie;
  EXPECT_TRUE(has_cookie_attribute(set_cookie, "Secure")) << set_cookie;
  EXPECT_TRUE(has_cookie_attribute(set_cookie, "Path=/")) << set_cookie;
  EXPECT_EQ(set_cookie.find("Domain"), std::string::npos) << set_cookie;
  EXPECT_EQ(c.get("/me").status, 200);
}

TEST(ServeAuth, SessionKeysFromTheEnvironmentAndFromAFileAgree) {
  TempDir dir;
  std::string key = make_session_key();
  ServeOptions from_file;  // the support writes the keys to a 0600 file
  from_file.name = "file";
  from_file.state = "sqlite://" + (dir / "state.db").string();
  from_file.session_keys = {key};
  ServeProcess a(from_file);
  ServeOptions from_env = from_file;
  from_env.name = "env";
  from_env.keys_in_store = true;
  from_env.env = {{"OUTBOARD_SERVE_SESSIONS_KEYS", key}};
  ServeProcess b(from_env);
  ServeOptions other = from_file;
  other.name = "other";
  other.session_keys = {make_session_key()};
  ServeProcess c(other);

  HttpClient browser(a.port());
  ASSERT_EQ(browser.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(browser.post("/login", credentials_json("ada", kPassword)).status, 200);
  EXPECT_EQ(browser.request_to(b.port(), "GET", "/me").status, 200) << "the key from the environment was not used";
  EXPECT_EQ(browser.request_to(c.port(), "GET", "/me").status, 401) << "a different key accepted the cookie";
}

}  // namespace
}  // namespace outboard::testing
