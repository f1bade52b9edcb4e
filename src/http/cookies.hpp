#pragma once
// Cookie header parsing (RFC 6265 section 5.4) and Set-Cookie building.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outboard::http {

// The value of the first cookie called `name` in a Cookie header, or nullopt.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);

struct CookieAttributes {
  bool http_only = true;
  bool secure = false;
  std::string same_site = "Lax";
  std::string path = "/";
  std::optional<std::int64_t> max_age_s;  // nullopt: a browser-session cookie
};

std::string set_cookie(std::string_view name, std::string_view value, CookieAttributes const& attrs);

}  // namespace outboard::http
