// fuzz-link: outboard_core
// core::Settings reading a TOML config file (core/config.hpp): any text either loads, with every
// value inside its declared bounds and checks, or stops start-up with a ConfigError that names
// the file. Any other exception escapes this target and is reported as a crash.
// Input: the text of the file.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "fuzz_check.hpp"

namespace {

using outboard::core::ConfigError;
using outboard::core::Settings;

// A subset of `outboard serve`'s settings (apps/outboard/serve_command.cpp): one of each kind,
// nested tables, bounds and checks.
struct Values {
  std::string listen = "127.0.0.1";
  std::int64_t port = 8080;
  std::int64_t max_body_bytes = 1 << 20;
  std::int64_t drain_timeout_ms = 0;
  std::string cookie_name = "sid";
  bool secure_cookie = false;
  std::vector<std::string> keys;
};

std::optional<std::string> check_name(std::string const& n) {
  if (n.empty()) return "must not be empty";
  for (char c : n) {
    if (c <= ' ' || c >= 127) return "must be printable ASCII";
  }
  return std::nullopt;
}

std::optional<std::string> check_key(std::string const& k) {
  if (k.size() < 8) return "too short";
  return std::nullopt;
}

void declare(Settings& s, Values& v) {
  s.add_string("server.listen", v.listen, "--listen", "address", check_name);
  s.add_int("server.port", v.port, 0, 65535, "--port", "port");
  s.add_int("server.max_body_bytes", v.max_body_bytes, 1, std::int64_t{1} << 34, "", "limit");
  s.add_int("server.drain_timeout_ms", v.drain_timeout_ms, 0, 3'600'000, "", "drain");
  s.add_string("sessions.cookie_name", v.cookie_name, "", "cookie", check_name);
  s.add_bool("sessions.secure_cookie", v.secure_cookie, "", "secure");
  s.add_list("sessions.keys", v.keys, "", "keys", check_key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string text(reinterpret_cast<char const*>(data), size);
  Values v;
  Settings settings;
  declare(settings, v);
  try {
    settings.load_toml_text(text, "fuzz.toml");
  } catch (ConfigError const& e) {
    // The documented way a bad file stops start-up: the message starts with where it was.
    FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.toml:"));
    return 0;
  }
  FUZZ_CHECK(v.port >= 0 && v.port <= 65535);
  FUZZ_CHECK(v.max_body_bytes >= 1 && v.max_body_bytes <= (std::int64_t{1} << 34));
  FUZZ_CHECK(v.drain_timeout_ms >= 0 && v.drain_timeout_ms <= 3'600'000);
  FUZZ_CHECK(!check_name(v.listen) && !check_name(v.cookie_name));
  for (auto const& k : v.keys) FUZZ_CHECK(!check_key(k));
  return 0;
}
