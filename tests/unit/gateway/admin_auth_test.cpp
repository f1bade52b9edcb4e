// The admin API's own rules (admin_auth.hpp), on plain requests: no sockets.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "gateway/admin_auth.hpp"
#include "support/temp_dir.hpp"

namespace outboard::gateway {
namespace {

using verb = http::bhttp::verb;
using field = http::bhttp::field;

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

http::Request request(verb method, std::string target, std::string authorization = std::string("Bearer ") + kToken,
                      std::string content_type = "application/json") {
  http::Request r{method, target, 11};
  if (!authorization.empty()) r.set(field::authorization, authorization);
  if (!content_type.empty()) r.set(field::content_type, content_type);
  return r;
}

std::string refusal_of(http::Request const& r) {
  auto refusal = AdminAuth(kToken).check(r);
  return refusal ? std::to_string(refusal->status == http::Status::unauthorized ? 401
                                  : refusal->status == http::Status::forbidden ? 403
                                  : refusal->status == http::Status::unsupported_media_type ? 415
                                                                                            : 0) +
                       " " + refusal->error
                 : "ok";
}

TEST(AdminAuth, LetsAnAuthenticatedJsonChangeThrough) {
  EXPECT_EQ(refusal_of(request(verb::post, "/backends")), "ok");
  EXPECT_EQ(refusal_of(request(verb::put, "/backends/a:1", std::string("bearer ") + kToken,
                               "Application/JSON; charset=utf-8")), "ok");
  EXPECT_EQ(refusal_of(request(verb::get, "/backends", std::string("Bearer ") + kToken, "")), "ok");
}

TEST(AdminAuth, RefusesRequestsWithoutTheRightToken) {
  EXPECT_EQ(refusal_of(request(verb::get, "/backends", "")), "401 unauthorized");
  EXPECT_EQ(refusal_of(request(verb::get, "/metrics", "Bearer wrong")), "401 unauthorized");
  EXPECT_EQ(refusal_of(request(verb::get, "/backends", std::string("Basic ") + kToken)), "401 unauthorized");
  // A prefix or an extension of the token is not the token.
  EXPECT_EQ(refusal_of(request(verb::get, "/backends", std::string("Bearer ") + std::string(kToken).substr(1))),
            "401 unauthorized");
  EXPECT_EQ(refusal_of(request(verb::get, "/backends", std::string("Bearer ") + kToken + "0")), "401 unauthorized");
}

TEST(AdminAuth, HealthNeedsNoTokenButNothingElseIsOpen) {
  EXPECT_EQ(refusal_of(request(verb::get, "/healthz", "")), "ok");
  EXPECT_EQ(refusal_of(request(verb::post, "/healthz", "", "application/json")), "401 unauthorized");
  EXPECT_EQ(refusal_of(request(verb::get, "/healthzz", "")), "401 unauthorized");
}

TEST(AdminAuth, RefusesWhatABrowserSendsForAWebPage) {
  // A cross-site request carries Origin, even with the right token (a page cannot have it,
  // but nothing a browser sends on a page's behalf is wanted here).
  auto cross_site = request(verb::post, "/backends");
  cross_site.set(field::origin, "https://evil.example");
  EXPECT_EQ(refusal_of(cross_site), "403 cross_origin");
  auto health = request(verb::get, "/healthz", "");
  health.set(field::origin, "null");
  EXPECT_EQ(refusal_of(health), "403 cross_origin");
  // The bodies a form may send without a preflight are refused on every change.
  for (auto type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                    "application/jsonp", ""}) {
    EXPECT_EQ(refusal_of(request(verb::post, "/backends/a:1/drain", std::string("Bearer ") + kToken, type)),
              "415 unsupported_media_type")
        << type;
  }
  EXPECT_EQ(refusal_of(request(verb::delete_, "/backends/a:1", std::string("Bearer ") + kToken, "")),
            "415 unsupported_media_type");
}

TEST(AdminAuth, CreatesATokenFileOnceAndReadsItBack) {
  testing::TempDir dir;
  bool created = false;
  auto first = load_or_create_admin_token(dir / "admin" / "token", created);
  EXPECT_TRUE(created);
  EXPECT_EQ(first.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "admin" / "token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = load_or_create_admin_token(dir / "admin" / "token", created);
  EXPECT_FALSE(created);
  EXPECT_EQ(second, first);
  auto other = load_or_create_admin_token(dir / "other", created);
  EXPECT_NE(other, first);
}

}  // namespace
}  // namespace outboard::gateway
