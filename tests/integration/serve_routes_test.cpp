// `outboard serve` as a black box: every shop route of this stage with its good and bad inputs,
// the session cookie's attributes and lifecycle, and the error shape, against a real process on
// each local backend (memory://, sqlite://).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

constexpr char const* kCookie = kSessionCookie;
constexpr int kServeMaxBody = 4096;

// The session id part of a signed cookie value "<id>.<mac>".
std::string id_part(std::string const& cookie_value) { return cookie_value.substr(0, cookie_value.find('.')); }

class ServeRoutes : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ServeOptions options;
    options.name = "routes";
    options.state = GetParam() == "memory" ? std::string("memory://") : "sqlite://" + (data_ / "state.db").string();
    options.extra_args = {"--max-body-bytes", std::to_string(kServeMaxBody)};
    serve_ = std::make_unique<ServeProcess>(options);
  }

  // Sends through `client`, and checks the one header every response must carry.
  HttpResponse call(HttpClient& client, std::string_view method, std::string_view target,
                    std::string_view body = {}, HeaderList const& headers = {}) {
    auto res = client.request(method, target, body, headers);
    EXPECT_EQ(res.header("X-Served-By"), serve_->instance())
        << method << " " << target << " -> " << res.status << " without the right X-Served-By";
    return res;
  }

  HttpClient client() { return HttpClient(serve_->port()); }

  void signup(HttpClient& c, std::string const& user, std::string const& password = kPassword) {
    auto res = call(c, "POST", "/signup", credentials_json(user, password));
    ASSERT_EQ(res.status, 201) << res.body;
  }

  void login(HttpClient& c, std::string const& user, std::string const& password = kPassword) {
    auto res = call(c, "POST", "/login", credentials_json(user, password));
    ASSERT_EQ(res.status, 200) << res.body;
  }

  TempDir data_;
  std::unique_ptr<ServeProcess> serve_;
};

TEST_P(ServeRoutes, HealthzAndReadyzAnswer200) {
  auto c = client();
  auto health = call(c, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json().value("status", ""), "ok") << health.body;

  auto ready = call(c, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto body = ready.json();
  ASSERT_TRUE(body.is_object()) << ready.body;
  EXPECT_EQ(body.value("ready", false), true) << ready.body;
}

TEST_P(ServeRoutes, SignupCreatesAnAccountOnceThenConflicts) {
  auto c = client();
  auto res = call(c, "POST", "/signup", credentials_json("ada", kPassword));
  EXPECT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(res.json().value("user", ""), "ada") << res.body;
  EXPECT_TRUE(res.headers_named("Set-Cookie").empty()) << "signup must not start a session";

  auto again = call(c, "POST", "/signup", credentials_json("ada", "another-password"));
  expect_json_error(again, 409, "user_exists");
  // The first password still works: the duplicate did not overwrite the account.
  login(c, "ada");
}

TEST_P(ServeRoutes, MalformedJsonIs400) {
  auto c = client();
  for (std::string body : {"{", "not json", "{\"user\":\"ada\",", "[\"ada\",\"correct-horse\"]", "\"ada\"", "null", ""}) {
    for (auto const* route : {"/signup", "/login"}) {
      SCOPED_TRACE(std::string(route) + " with body '" + body + "'");
      expect_json_error(call(c, "POST", route, body), 400);
    }
  }
}

TEST_P(ServeRoutes, NonJsonContentTypeIs400) {
  auto c = client();
  expect_json_error(call(c, "POST", "/signup", credentials_json("ada", kPassword), {{"Content-Type", "text/plain"}}),
                    400);
}

TEST_P(ServeRoutes, MissingFieldsAre400) {
  auto c = client();
  for (std::string body : {R"({})", R"({"user":"ada"})", R"({"password":"correct-horse"})",
                           R"({"name":"ada","pass":"correct-horse"})"}) {
    for (auto const* route : {"/signup", "/login"}) {
      SCOPED_TRACE(std::string(route) + " with body " + body);
      expect_json_error(call(c, "POST", route, body), 400);
    }
  }
}

TEST_P(ServeRoutes, WrongTypesAre400) {
  auto c = client();
  for (std::string body : {R"({"user":5,"password":"correct-horse"})", R"({"user":"ada","password":12345678})",
                           R"({"user":null,"password":"correct-horse"})", R"({"user":["ada"],"password":"correct-horse"})",
                           R"({"user":{"n":"ada"},"password":"correct-horse"})", R"({"user":true,"password":"correct-horse"})",
                           R"({"user":"ada","password":["correct-horse"]})"}) {
    for (auto const* route : {"/signup", "/login"}) {
      SCOPED_TRACE(std::string(route) + " with body " + body);
      expect_json_error(call(c, "POST", route, body), 400);
    }
  }
}

TEST_P(ServeRoutes, BadUserNamesAre400) {
  auto c = client();
  std::string too_long(65, 'a');
  for (std::string user : {std::string(), too_long, std::string("a b"), std::string("ada/../x"),
                           std::string("\xC3\xA4" "da"), std::string("ada\n")}) {
    SCOPED_TRACE("user '" + user + "'");
    expect_json_error(call(c, "POST", "/signup", credentials_json(user, kPassword)), 400);
  }
  // The limits are inclusive: 64 characters is fine.
  signup(c, std::string(64, 'a'));
}

TEST_P(ServeRoutes, ShortOrHugePasswordIs400) {
  auto c = client();
  expect_json_error(call(c, "POST", "/signup", credentials_json("ada", "")), 400);
  expect_json_error(call(c, "POST", "/signup", credentials_json("ada", "1234567")), 400);
  expect_json_error(call(c, "POST", "/signup", credentials_json("ada", std::string(1025, 'x'))), 400);
  // None of these created the account.
  expect_json_error(call(c, "POST", "/login", credentials_json("ada", "1234567")), 401);
  signup(c, "ada", "12345678");  // exactly the minimum
  login(c, "ada", "12345678");
}

TEST_P(ServeRoutes, BodyOverMaxBodyBytesIs413) {
  auto c = client();
  // Valid JSON, just too big: the size limit answers, not the JSON parser.
  std::string big = R"({"user":"ada","password":")" + std::string(kServeMaxBody, 'x') + R"("})";
  expect_json_error(call(c, "POST", "/signup", big), 413);
  expect_json_error(call(c, "POST", "/login", big), 413);

  // A body of exactly the limit is read (and then judged on its content: too long a password).
  std::string prefix = R"({"user":"ada","password":")";
  std::string exact = prefix + std::string(kServeMaxBody - prefix.size() - 2, 'x') + R"("})";
  ASSERT_EQ(exact.size(), static_cast<std::size_t>(kServeMaxBody));
  expect_json_error(call(c, "POST", "/signup", exact), 400);
}

TEST_P(ServeRoutes, UnknownRouteIs404Json) {
  auto c = client();
  expect_json_error(call(c, "GET", "/nope"), 404, "not_found");
  expect_json_error(call(c, "POST", "/signup/extra", credentials_json("ada", kPassword)), 404, "not_found");
  expect_json_error(call(c, "GET", "/"), 404, "not_found");
}

TEST_P(ServeRoutes, WrongMethodIs405WithAllow) {
  auto c = client();
  struct Case {
    char const* method;
    char const* target;
    char const* allow;
  };
  for (Case const& k : {Case{"GET", "/signup", "POST"}, Case{"GET", "/login", "POST"}, Case{"PUT", "/login", "POST"},
                        Case{"GET", "/logout", "POST"}, Case{"DELETE", "/me", "GET"}, Case{"POST", "/me", "GET"}}) {
    SCOPED_TRACE(std::string(k.method) + " " + k.target);
    auto res = call(c, k.method, k.target, std::string(k.method) == "POST" ? "{}" : "");
    expect_json_error(res, 405, "method_not_allowed");
    EXPECT_EQ(res.header("Allow").value_or("(no Allow header)"), k.allow);
  }
}

TEST_P(ServeRoutes, MalformedHttpIs400) {
  RawConnection conn(serve_->port());
  conn.send("THIS IS NOT HTTP\r\n\r\n");
  auto res = conn.read_response();
  expect_json_error(res, 400);
  EXPECT_EQ(res.header("X-Served-By"), serve_->instance());
}

TEST_P(ServeRoutes, WrongPasswordAndUnknownUserAre401Alike) {
  auto c = client();
  signup(c, "ada");
  auto wrong = call(c, "POST", "/login", credentials_json("ada", "wrong-password"));
  expect_json_error(wrong, 401, "unauthorized");
  auto unknown = call(c, "POST", "/login", credentials_json("nobody", kPassword));
  expect_json_error(unknown, 401, "unauthorized");
  // Same answer either way: the response does not tell which users exist.
  EXPECT_EQ(wrong.json().value("detail", "a"), unknown.json().value("detail", "b"));
  EXPECT_TRUE(wrong.headers_named("Set-Cookie").empty());
  EXPECT_TRUE(unknown.headers_named("Set-Cookie").empty());
}

TEST_P(ServeRoutes, MeWithoutSessionIs401) {
  auto c = client();
  expect_json_error(call(c, "GET", "/me"), 401, "unauthorized");
}

TEST_P(ServeRoutes, LoginSetsAHardenedCookie) {
  auto c = client();
  signup(c, "ada");
  auto res = call(c, "POST", "/login", credentials_json("ada", kPassword));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().value("user", ""), "ada");
  auto lines = res.headers_named("Set-Cookie");
  ASSERT_EQ(lines.size(), 1u);
  std::string const& line = lines[0];
  EXPECT_TRUE(line.starts_with(std::string(kCookie) + "=")) << line;
  EXPECT_TRUE(has_cookie_attribute(line, "HttpOnly")) << line;
  EXPECT_TRUE(has_cookie_attribute(line, "SameSite=Lax")) << line;
  EXPECT_TRUE(has_cookie_attribute(line, "Path=/")) << line;
  EXPECT_FALSE(has_cookie_attribute(line, "Secure")) << line << " (Secure is only for --secure-cookie)";
  auto value = c.cookie(kCookie);
  ASSERT_TRUE(value);
  EXPECT_NE(value->find('.'), std::string::npos) << "expected <id>.<mac>, got " << *value;
  EXPECT_GE(id_part(*value).size(), 32u) << "a session id this short is guessable: " << *value;
}

TEST_P(ServeRoutes, LoginThenMeAnswersUserAndInstance) {
  auto c = client();
  signup(c, "ada");
  login(c, "ada");
  auto me = call(c, "GET", "/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().value("user", ""), "ada");
  EXPECT_EQ(me.json().value("instance", ""), serve_->instance());

  // A second browser is a different user: the session is per cookie, not per server.
  auto other = client();
  expect_json_error(call(other, "GET", "/me"), 401);
  signup(other, "bob");
  login(other, "bob");
  EXPECT_EQ(call(other, "GET", "/me").json().value("user", ""), "bob");
  EXPECT_EQ(call(c, "GET", "/me").json().value("user", ""), "ada");
}

TEST_P(ServeRoutes, LogoutEndsTheSessionServerSide) {
  auto c = client();
  signup(c, "ada");
  login(c, "ada");
  auto before = c.cookie(kCookie);
  ASSERT_TRUE(before);

  auto out = call(c, "POST", "/logout");
  EXPECT_EQ(out.status, 200) << out.body;
  auto lines = out.headers_named("Set-Cookie");
  ASSERT_EQ(lines.size(), 1u) << "logout should clear the cookie";
  EXPECT_TRUE(has_cookie_attribute(lines[0], "Max-Age=0")) << lines[0];
  EXPECT_FALSE(c.cookie(kCookie)) << "the client's jar should have dropped the cleared cookie";

  expect_json_error(call(c, "GET", "/me"), 401);
  // Replaying the old cookie does not bring the session back: it ended in the store.
  c.set_cookie(kCookie, *before);
  expect_json_error(call(c, "GET", "/me"), 401);
}

TEST_P(ServeRoutes, LogoutWithoutSessionIsHarmless) {
  auto c = client();
  auto out = call(c, "POST", "/logout");
  EXPECT_EQ(out.status, 200) << out.body;
  expect_json_error(call(c, "GET", "/me"), 401);
}

TEST_P(ServeRoutes, TamperedCookiesAreAnonymousNever500) {
  auto c = client();
  signup(c, "ada");
  login(c, "ada");
  auto good = *c.cookie(kCookie);
  auto dot = good.find('.');
  ASSERT_NE(dot, std::string::npos);

  std::string flipped_mac = good;
  flipped_mac.back() = flipped_mac.back() == 'A' ? 'B' : 'A';
  std::string flipped_id = good;
  flipped_id[0] = flipped_id[0] == 'A' ? 'B' : 'A';
  std::string swapped_key_mac = good.substr(0, dot) + "." + std::string(43, 'A');

  for (std::string const& value :
       {flipped_mac, flipped_id, swapped_key_mac, good.substr(0, dot), good.substr(0, dot + 1),
        "." + good.substr(dot + 1), std::string(), std::string("garbage"), std::string("...."),
        std::string(4000, 'z'), good + "x", "\"" + good.substr(1) + "\"", std::string("%00%ff")}) {
    SCOPED_TRACE("cookie value '" + value.substr(0, 80) + "'");
    HttpClient forged(serve_->port());
    forged.set_cookie(kCookie, value);
    auto res = call(forged, "GET", "/me");
    expect_json_error(res, 401, "unauthorized");
  }
  // Header-level oddities: the cookie twice, no '=', separators only.
  for (std::string header : {std::string(kCookie) + "=" + flipped_mac + "; " + kCookie + "=" + flipped_mac,
                             std::string(kCookie), std::string(";;;"), std::string("=; =")}) {
    SCOPED_TRACE("Cookie: " + header);
    HttpClient forged(serve_->port());
    expect_json_error(call(forged, "GET", "/me", {}, {{"Cookie", header}}), 401, "unauthorized");
  }
  // And the real cookie still works.
  EXPECT_EQ(call(c, "GET", "/me").status, 200);
}

TEST_P(ServeRoutes, LoginReplacesAForgedSessionCookie) {
  auto c = client();
  signup(c, "ada");
  // An attacker plants a session cookie in the victim's browser before login.
  std::string planted = "attacker-chosen-session-id-0123456789abcdef.bm90LWEtcmVhbC1tYWM";
  c.set_cookie(kCookie, planted);
  expect_json_error(call(c, "GET", "/me"), 401);
  login(c, "ada");
  auto after = c.cookie(kCookie);
  ASSERT_TRUE(after);
  EXPECT_NE(*after, planted);
  EXPECT_NE(id_part(*after), id_part(planted));
  EXPECT_EQ(call(c, "GET", "/me").json().value("user", ""), "ada");

  // The planted value stays useless to the attacker.
  HttpClient attacker(serve_->port());
  attacker.set_cookie(kCookie, planted);
  expect_json_error(call(attacker, "GET", "/me"), 401);
}

TEST_P(ServeRoutes, LoginWithAValidSessionIssuesANewId) {
  auto c = client();
  signup(c, "ada");
  signup(c, "bob");
  login(c, "ada");
  auto first = c.cookie(kCookie);
  ASSERT_TRUE(first);

  // Logging in again (as someone else) while holding a live session: a new id, old one gone.
  login(c, "bob");
  auto second = c.cookie(kCookie);
  ASSERT_TRUE(second);
  EXPECT_NE(id_part(*first), id_part(*second));
  EXPECT_EQ(call(c, "GET", "/me").json().value("user", ""), "bob");

  HttpClient stale(serve_->port());
  stale.set_cookie(kCookie, *first);
  expect_json_error(call(stale, "GET", "/me"), 401);
}

TEST_P(ServeRoutes, HeadMeAnswersLikeGetWithoutBody) {
  auto c = client();
  signup(c, "ada");
  login(c, "ada");
  auto head = call(c, "HEAD", "/me");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty()) << head.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, ServeRoutes, ::testing::Values("memory", "sqlite"),
                         [](::testing::TestParamInfo<std::string> const& param) { return param.param; });

}  // namespace
}  // namespace outboard::testing
