#include "http/cookies.hpp"

namespace outboard::http {
namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, CookieAttributes const& attrs) {
  std::string out;
  out.reserve(name.size() + value.size() + 64);
  out.append(name).append("=").append(value);
  out.append("; Path=").append(attrs.path);
  if (attrs.max_age_s) out.append("; Max-Age=").append(std::to_string(*attrs.max_age_s));
  if (attrs.http_only) out.append("; HttpOnly");
  if (attrs.secure) out.append("; Secure");
  if (!attrs.same_site.empty()) out.append("; SameSite=").append(attrs.same_site);
  return out;
}

}  // namespace outboard::http
