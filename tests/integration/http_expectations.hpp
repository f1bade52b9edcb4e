#pragma once
// Assertions shared by the `outboard serve` integration tests.
#include <gtest/gtest.h>

#include <string>

#include "support/http_client.hpp"

namespace outboard::testing {

inline constexpr char kSessionCookie[] = "ob_session";

// The outboard error shape: {"error": "...", "detail": "..."} as application/json with the
// given status (and error code, when one is given).
inline void expect_json_error(HttpResponse const& res, int status, std::string const& code = {}) {
  EXPECT_EQ(res.status, status) << res.body;
  EXPECT_TRUE(res.header("Content-Type").value_or("").starts_with("application/json"))
      << "Content-Type: " << res.header("Content-Type").value_or("(none)");
  auto body = res.json();
  ASSERT_TRUE(body.is_object()) << "not a JSON object: " << res.body;
  ASSERT_TRUE(body.contains("error") && body["error"].is_string()) << res.body;
  ASSERT_TRUE(body.contains("detail") && body["detail"].is_string()) << res.body;
  EXPECT_FALSE(body["error"].get<std::string>().empty());
  if (!code.empty()) {
    EXPECT_EQ(body["error"], code) << res.body;
  }
}

// True when a Set-Cookie line carries `attribute` exactly ("HttpOnly", "SameSite=Lax").
inline bool has_cookie_attribute(std::string const& set_cookie, std::string const& attribute) {
  std::string needle = "; " + attribute;
  auto pos = set_cookie.find(needle);
  while (pos != std::string::npos) {
    auto end = pos + needle.size();
    if (end == set_cookie.size() || set_cookie[end] == ';') return true;
    pos = set_cookie.find(needle, end);
  }
  return false;
}

}  // namespace outboard::testing
