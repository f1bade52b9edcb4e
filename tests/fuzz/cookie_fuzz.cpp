// fuzz-link: outboard_http
// http::find_cookie over any Cookie header, and set_cookie -> find_cookie round trips.
// Input: "<name>\n<value>\n<cookie header>".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/cookies.hpp"

namespace {

using outboard::fuzz::take_line;
using outboard::http::find_cookie;

bool is_space(char c) { return c == ' ' || c == '\t'; }

// A name find_cookie can find again: it splits pairs on ';' and '=' and trims blanks.
bool findable_name(std::string_view name) {
  if (name.empty() || is_space(name.front()) || is_space(name.back())) return false;
  return name.find_first_of(";=") == std::string_view::npos;
}

// A value that comes back byte for byte: no ';', no edge blanks, not wrapped in quotes.
bool findable_value(std::string_view value) {
  if (value.find(';') != std::string_view::npos) return false;
  if (!value.empty() && (is_space(value.front()) || is_space(value.back()))) return false;
  return !(value.size() >= 2 && value.front() == '"' && value.back() == '"');
}

bool within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  std::string_view name = take_line(rest);
  std::string_view value = take_line(rest);
  std::string_view header = rest;

  // Any header, any name: the answer is a view into the header and never spans a ';'.
  if (auto found = find_cookie(header, name)) {
    FUZZ_CHECK(within(*found, header));
    FUZZ_CHECK(found->find(';') == std::string_view::npos);
    FUZZ_CHECK(header.find(name) != std::string_view::npos);
  }
  if (!findable_name(name) || !findable_value(value)) return 0;

  // The first cookie of a name wins, whatever follows it.
  std::string first = std::string(name) + "=" + std::string(value) + "; " + std::string(header);
  auto found = find_cookie(first, name);
  FUZZ_CHECK(found && *found == value);

  // A cookie behind a different one is still found ("other" cannot equal a name we test with
  // a '=' in it, so use one that differs from `name`).
  std::string other = name == "o" ? "p" : "o";
  std::string second = other + "=x; " + std::string(name) + "=" + std::string(value);
  found = find_cookie(second, name);
  FUZZ_CHECK(found && *found == value);

  // What set_cookie writes, read back as a cookie list, starts with our pair; its attributes
  // are never mistaken for it.
  outboard::http::CookieAttributes attrs;
  attrs.secure = size % 2 == 0;
  attrs.max_age_s = static_cast<std::int64_t>(size) - 100;
  std::string set = outboard::http::set_cookie(name, value, attrs);
  FUZZ_CHECK(set.starts_with(std::string(name) + "=" + std::string(value) + "; Path=/"));
  found = find_cookie(set, name);
  FUZZ_CHECK(found && *found == value);
  FUZZ_CHECK(set.find("; HttpOnly") != std::string::npos);
  FUZZ_CHECK((set.find("; Secure") != std::string::npos) == attrs.secure);
  return 0;
}
