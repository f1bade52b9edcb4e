// `outboard serve --auth jwt|both` through real processes (docs/AUTH.md): the login answer and
// every shop route with a bearer token, refused tokens (401 invalid_token, counted by reason),
// refresh rotation and its grace window, reuse detection, revocation seen by another instance
// on one SQLite file (logout, log out everywhere, password change), key rotation across a
// restart, --auth both, and the configuration's errors. Keys are generated here, per test.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/jwt_test_keys.hpp"
#include "support/prometheus_text.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kInvalidToken[] = "Bearer error=\"invalid_token\"";

// One test's keys and files: the signing key k1 and the refresh key, in a private directory.
struct TokenFiles {
  TempDir dir;
  TestSigningKey k1{"k1"};
  std::filesystem::path refresh_key = dir / "refresh.key";
  TokenFiles() { write_refresh_key_file(refresh_key); }
};

ServeOptions token_instance(std::string name, std::string mode, TokenFiles const& files, std::string state = "memory://") {
  ServeOptions o;
  o.name = std::move(name);
  o.state = std::move(state);
  o.env = token_env(mode, files.k1, files.dir.path(), files.refresh_key);
  return o;
}

std::string now_s_plus(std::int64_t seconds) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count() + seconds);
}

// Signs up (when asked) and logs `user` in; the login answer's JSON.
nlohmann::json log_in(HttpClient& client, std::string const& user, bool sign_up = true,
                      std::string const& password = kPassword) {
  if (sign_up) {
    EXPECT_EQ(client.post("/signup", credentials_json(user, password)).status, 201);
  }
  auto res = client.post("/login", credentials_json(user, password));
  EXPECT_EQ(res.status, 200) << res.body;
  return res.json();
}

HttpResponse refresh(HttpClient& client, std::uint16_t port, std::string const& refresh_token) {
  nlohmann::json body{{"refresh_token", refresh_token}};
  return client.request_to(port, "POST", "/token/refresh", body.dump());
}

void expect_invalid_token(HttpResponse const& res) {
  EXPECT_EQ(res.status, 401) << res.body;
  EXPECT_EQ(res.header("WWW-Authenticate"), kInvalidToken);
  EXPECT_EQ(res.json(), (nlohmann::json{{"error", "invalid_token"}, {"detail", "the access token is not valid"}}));
}

TEST(ServeJwt, LoginAnswersTokensAndEveryShopRouteWorksWithABearer) {
  TokenFiles files;
  ServeProcess serve(token_instance("jwt", "jwt", files));
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  auto login = c.post("/login", credentials_json("ada", kPassword));
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_TRUE(login.headers_named("Set-Cookie").empty()) << "jwt mode set a session cookie";
  auto body = login.json();
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 900);
  EXPECT_GT(body["refresh_expires_in"].get<std::int64_t>(), 13 * 86400);
  std::string token = body["access_token"];
  auto claims = jwt_claims(token);
  for (char const* name : {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid"}) {
    EXPECT_TRUE(claims.contains(name)) << name << " missing from " << claims.dump();
  }
  EXPECT_EQ(claims["aud"], "shop");
  EXPECT_EQ(claims["sub"], "ada");

  auto anonymous = c.get("/me");
  expect_json_error(anonymous, 401, "unauthorized");
  EXPECT_EQ(anonymous.header("WWW-Authenticate"), "Bearer");
  auto who = me(c, serve.port(), token);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(who.json()["user"], "ada");

  // The journey, every route once, with the token alone.
  auto auth = bearer(token);
  auto with_key = [&](std::string key) {
    HeaderList h = auth;
    h.emplace_back("Idempotency-Key", std::move(key));
    return h;
  };
  EXPECT_EQ(c.request("GET", "/products", {}, auth).status, 200);
  auto line = c.request("POST", "/cart/items", R"({"sku":"sku-001","qty":2})", with_key("k-cart-1"));
  ASSERT_EQ(line.status, 201) << line.body;
  EXPECT_EQ(c.request("GET", "/cart", {}, auth).status, 200);
  auto order = c.request("POST", "/checkout", {}, with_key("k-checkout-1"));
  ASSERT_EQ(order.status, 201) << order.body;
  EXPECT_EQ(c.request("GET", "/orders", {}, auth).status, 200);
  EXPECT_EQ(c.request("GET", *order.header("Location"), {}, auth).status, 200);
  HeaderList upload_headers = auth;
  upload_headers.emplace_back("Content-Type", "text/plain");
  auto upload = c.request("POST", "/uploads", "hello tokens", upload_headers);
  ASSERT_EQ(upload.status, 201) << upload.body;
  auto download = c.request("GET", *upload.header("Location"), {}, auth);
  EXPECT_EQ(download.status, 200);
  EXPECT_EQ(download.body, "hello tokens");
  EXPECT_EQ(c.request("GET", "/recommendations", {}, auth).status, 200);

  auto jwks = c.get("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  ASSERT_EQ(jwks.json()["keys"].size(), 1u);
  EXPECT_EQ(jwks.json()["keys"][0]["kid"], "k1");
  EXPECT_FALSE(jwks.json()["keys"][0].contains("d")) << "the JWKS published a private key";

  // Logout with the bearer: the token and its family are over.
  ASSERT_EQ(c.request("POST", "/logout", {}, auth).status, 200);
  expect_invalid_token(me(c, serve.port(), token));
  expect_json_error(refresh(c, serve.port(), body["refresh_token"]), 401, "invalid_grant");
}

TEST(ServeJwt, RefusedTokensAre401InvalidTokenAndCountedByReason) {
  TokenFiles files;
  ServeProcess serve(token_instance("jwt", "jwt", files));
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  nlohmann::json claims{{"iss", "https://outboard.test"}, {"aud", "shop"}, {"sub", "ada"}, {"iat", std::stoll(now_s_plus(0))},
                        {"exp", std::stoll(now_s_plus(600))}, {"jti", "j1"}, {"sid", "s1"}};
  // The control: the same key and claims, untouched, are accepted.
  ASSERT_EQ(me(c, serve.port(), files.k1.sign(claims)).status, 200);

  std::string tampered = files.k1.sign(claims);
  char& c20 = tampered[tampered.size() - 20];  // inside the signature, not its last (partial) character
  c20 = c20 == 'A' ? 'B' : 'A';
  auto expired = claims;
  expired["iat"] = std::stoll(now_s_plus(-7200));
  expired["exp"] = std::stoll(now_s_plus(-3600));
  auto other_audience = claims;
  other_audience["aud"] = "another-service";
  TestSigningKey stranger("k9");

  expect_invalid_token(me(c, serve.port(), tampered));
  expect_invalid_token(me(c, serve.port(), files.k1.sign(expired)));
  expect_invalid_token(me(c, serve.port(), files.k1.sign(other_audience)));
  expect_invalid_token(me(c, serve.port(), stranger.sign(claims)));
  expect_invalid_token(c.request("GET", "/me", {}, {{"Authorization", "Bearer not a token"}}));
  for (char const* reason : {"bad_signature", "expired", "aud_wrong", "kid_unknown", "malformed"}) {
    EXPECT_EQ(metric_sample(serve.port(), std::string("outboard_auth_bearer_rejections_total{reason=\"") + reason + "\"}"), 1)
        << reason;
  }
}

TEST(ServeJwt, RefreshRotatesRacingUsesShareOneSuccessorAndALateReuseEndsTheFamily) {
  TokenFiles files;
  auto options = token_instance("jwt", "jwt", files);
  ServeProcess serve(options);
  HttpClient c(serve.port());
  auto login = log_in(c, "ada");
  auto rotated = refresh(c, serve.port(), login["refresh_token"]);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  auto pair = rotated.json();
  EXPECT_NE(pair["refresh_token"], login["refresh_token"]);
  EXPECT_EQ(jwt_claims(pair["access_token"])["sid"], jwt_claims(login["access_token"])["sid"]);
  EXPECT_EQ(me(c, serve.port(), pair["access_token"]).status, 200);

  // Two tabs refreshing with one token at once: both succeed, with the same successor.
  std::string body = nlohmann::json{{"refresh_token", pair["refresh_token"]}}.dump();
  auto answers = request_together(c, {{serve.port(), "POST", "/token/refresh", body, {}},
                                      {serve.port(), "POST", "/token/refresh", body, {}}});
  ASSERT_EQ(answers[0].status, 200) << answers[0].body;
  ASSERT_EQ(answers[1].status, 200) << answers[1].body;
  EXPECT_EQ(answers[0].json()["refresh_token"], answers[1].json()["refresh_token"]);
  EXPECT_EQ(metric_sample(serve.port(), "outboard_auth_refresh_total{outcome=\"grace\"}"), 1);

  // With no grace at all, a token used again (after its first use answered) is a stolen copy.
  TokenFiles strict_files;
  auto strict = token_instance("strict", "jwt", strict_files);
  strict.env["OUTBOARD_SERVE_AUTH_REFRESH_GRACE_MS"] = "0";
  ServeProcess s(strict);
  HttpClient d(s.port());
  auto first = log_in(d, "bob");
  auto next = refresh(d, s.port(), first["refresh_token"]);
  ASSERT_EQ(next.status, 200);
  // The grace (0 ms) must be over when the copy comes back: wait for the clock, not for a peer.
  auto answered = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - answered < 5ms) std::this_thread::yield();
  expect_json_error(refresh(d, s.port(), first["refresh_token"]), 401, "invalid_grant");
  expect_json_error(refresh(d, s.port(), next.json()["refresh_token"]), 401, "invalid_grant");
  EXPECT_EQ(metric_sample(s.port(), "outboard_auth_refresh_total{outcome=\"reused_revoked\"}"), 1);
}

// Two instances on one SQLite file, --auth both: either credential works on either instance,
// and logout, log out everywhere and a password change on A are refused on B at once.
TEST(ServeJwt, RevocationOnOneInstanceIsRefusedOnAnother) {
  TokenFiles files;
  TempDir data;
  std::string state = "sqlite://" + (data / "state.db").string();
  auto options = token_instance("A", "both", files, state);
  options.session_keys = {make_session_key()};
  options.blobs = "file://" + (data / "blobs").string();
  ServeProcess a(options);
  options.name = "B";
  ServeProcess b(options);

  HttpClient browser(a.port());
  auto login = log_in(browser, "ada");
  ASSERT_TRUE(browser.cookie(kSessionCookie)) << "--auth both set no cookie";
  // A second client: its requests carry a bearer token (and, --auth both, its own cookies, which
  // the token overrides: a refused token is refused whatever cookie comes with it).
  HttpClient api(b.port());
  EXPECT_EQ(me(api, b.port(), login["access_token"]).status, 200);
  EXPECT_EQ(browser.request_to(b.port(), "GET", "/me").status, 200);

  // Logout: this token and its family only.
  auto second = log_in(api, "ada", false);
  ASSERT_EQ(api.request_to(a.port(), "POST", "/logout", {}, bearer(second["access_token"])).status, 200);
  expect_invalid_token(me(api, b.port(), second["access_token"]));
  expect_json_error(refresh(api, b.port(), second["refresh_token"]), 401, "invalid_grant");
  EXPECT_EQ(me(api, b.port(), login["access_token"]).status, 200) << "logout ended another login";

  // Log out everywhere: every token, family and cookie session of the user.
  auto third = log_in(api, "ada", false);
  auto all = api.request_to(a.port(), "POST", "/logout/all", {}, bearer(third["access_token"]));
  ASSERT_EQ(all.status, 200) << all.body;
  for (auto const* t : {&login, &third}) {
    expect_invalid_token(me(api, b.port(), (*t)["access_token"]));
    expect_json_error(refresh(api, b.port(), (*t)["refresh_token"]), 401, "invalid_grant");
  }
  expect_json_error(browser.request_to(b.port(), "GET", "/me"), 401, "unauthorized");

  // A password change: the same, and the answer is a fresh login that works everywhere.
  HttpClient phone(a.port());
  auto before = log_in(phone, "ada", false);
  auto fourth = log_in(api, "ada", false);
  nlohmann::json wrong{{"current_password", "not-the-password"}, {"new_password", "battery-staple"}};
  expect_json_error(api.request_to(a.port(), "POST", "/password", wrong.dump(), bearer(fourth["access_token"])),
                    401, "unauthorized");
  EXPECT_EQ(me(api, b.port(), fourth["access_token"]).status, 200) << "a refused change revoked the token";
  nlohmann::json change{{"current_password", kPassword}, {"new_password", "battery-staple"}};
  auto changed = api.request_to(a.port(), "POST", "/password", change.dump(), bearer(fourth["access_token"]));
  ASSERT_EQ(changed.status, 200) << changed.body;
  expect_invalid_token(me(api, b.port(), fourth["access_token"]));
  expect_invalid_token(me(api, b.port(), before["access_token"]));
  expect_json_error(phone.request_to(b.port(), "GET", "/me"), 401, "unauthorized");
  EXPECT_EQ(me(api, b.port(), changed.json()["access_token"]).status, 200);
  expect_json_error(api.request_to(b.port(), "POST", "/login", credentials_json("ada", kPassword)), 401);
  EXPECT_EQ(api.request_to(b.port(), "POST", "/login", credentials_json("ada", "battery-staple")).status, 200);
}

TEST(ServeJwt, ANewSigningKeyKeepsTheOldKeysTokensValid) {
  TokenFiles files;
  TempDir data;
  auto options = token_instance("old", "jwt", files, "sqlite://" + (data / "state.db").string());
  HttpClient c(0);
  nlohmann::json login;
  {
    ServeProcess old_key(options);
    c.set_port(old_key.port());
    login = log_in(c, "ada");
  }
  TestSigningKey k2("k2");
  files.k1.write_public_pem(files.dir / "k1.pub.pem");
  auto rotated = options;
  rotated.name = "new";
  rotated.env = token_env("jwt", k2, files.dir.path(), files.refresh_key);
  rotated.env["OUTBOARD_SERVE_AUTH_VERIFICATION_KEYS"] = "k1:EdDSA:" + (files.dir / "k1.pub.pem").string();
  ServeProcess new_key(rotated);
  EXPECT_EQ(me(c, new_key.port(), login["access_token"]).status, 200) << "rotation logged a user out";
  auto next = refresh(c, new_key.port(), login["refresh_token"]);
  ASSERT_EQ(next.status, 200) << next.body;
  std::string access = next.json()["access_token"];
  // jwt_claims reads the middle segment: put the header there to read its kid.
  EXPECT_EQ(jwt_claims("x." + access.substr(0, access.find('.')) + ".x")["kid"], "k2");
  auto jwks = c.request_to(new_key.port(), "GET", "/.well-known/jwks.json").json();
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], "k2");
  EXPECT_EQ(jwks["keys"][1]["kid"], "k1");
}

TEST(ServeJwt, CheckShowsTheTokenSettingsAndABadKeyFileStopsStartUpNamingIt) {
  TokenFiles files;
  auto env = token_env("jwt", files.k1, files.dir.path(), files.refresh_key);
  auto check = run_outboard({"serve", "--check"}, env);
  ASSERT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("auth.mode = \"jwt\""), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("auth.signing_kid = \"k1\""), std::string::npos) << check.output;

  auto broken = files.dir / "broken.pem";
  { std::ofstream(broken) << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"; }
  std::filesystem::permissions(broken, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  env["OUTBOARD_SERVE_AUTH_SIGNING_KEY_FILE"] = broken.string();
  auto bad = run_outboard({"serve", "--check"}, env);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find(broken.string()), std::string::npos) << bad.output;
  EXPECT_EQ(bad.output.find("not a key"), std::string::npos) << "the key file's text reached the error";

  env.erase("OUTBOARD_SERVE_AUTH_REFRESH_KEY_FILE");
  auto missing = run_outboard({"serve", "--check"}, env);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("auth.refresh_key_file"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace outboard::testing
