#include "runtime/session_keys.hpp"

#include <stdexcept>

#include "core/config.hpp"
#include "core/secret_file.hpp"
#include "runtime/cookie_signer.hpp"

namespace outboard::runtime {

std::vector<std::string> parse_session_keys(std::string_view text, std::string const& source) {
  std::vector<std::string> keys;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto key = CookieSigner::decode_key(line);
    if (!key) {
      throw core::ConfigError(source + ":" + std::to_string(line_number) +
                              ": not a session key (64+ hex characters, or base64url of 32+ bytes)");
    }
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) throw core::ConfigError(source + ": holds no session key");
  return keys;
}

std::vector<std::string> load_session_keys_file(std::filesystem::path const& path) {
  std::string text;
  try {
    text = core::read_secret_file(path);
  } catch (std::runtime_error const& e) {
    throw core::ConfigError(std::string("sessions.keys_file ") + e.what());
  }
  return parse_session_keys(text, path.string());
}

}  // namespace outboard::runtime
