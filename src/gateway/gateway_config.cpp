#include "gateway/gateway_config.hpp"

#include <charconv>

namespace outboard::gateway {

std::optional<std::string> parse_hash_key(std::string_view text, HashKeySource& out) {
  if (text == "path") {
    out = {HashKeySource::Kind::path, ""};
  } else if (text == "client") {
    out = {HashKeySource::Kind::client, ""};
  } else if (text.starts_with("header:") && text.size() > 7) {
    out = {HashKeySource::Kind::header, std::string(text.substr(7))};
  } else if (text.starts_with("cookie:") && text.size() > 7) {
    out = {HashKeySource::Kind::cookie, std::string(text.substr(7))};
  } else {
    return "'" + std::string(text) + "' is not header:NAME, cookie:NAME, path or client";
  }
  return std::nullopt;
}

std::optional<std::string> parse_backend_spec(std::string_view text, std::pair<BackendAddress, std::uint32_t>& out) {
  std::string_view address = text.substr(0, text.find(' '));
  auto parsed = parse_backend_address(address);
  if (!parsed) return "'" + std::string(address) + "' is not host:port";
  std::uint32_t weight = 1;
  auto space = text.find(' ');
  if (space != std::string_view::npos) {
    std::string_view rest = text.substr(space + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (!rest.starts_with("weight=")) return "expected 'host:port' or 'host:port weight=N', got '" + std::string(text) + "'";
    rest.remove_prefix(7);
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), weight);
    if (ec != std::errc{} || ptr != rest.data() + rest.size() || weight > 1000) {
      return "weight must be an integer 0..1000 in '" + std::string(text) + "'";
    }
  }
  out = {*parsed, weight};
  return std::nullopt;
}

}  // namespace outboard::gateway
