#pragma once
// The character classes and small grammars of RFC 9110 / RFC 9112 / RFC 3986 that the strict
// HTTP layer (strict.cpp, the chunked validator) shares. Pure, no allocation except lower().
#include <string>
#include <string_view>
#include <vector>

namespace outboard::http::syntax {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// OWS / BWS: space and horizontal tab.
constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }
constexpr bool is_obs_text(char c) { return static_cast<unsigned char>(c) >= 0x80; }
constexpr bool is_vchar(char c) { return c > 0x20 && c < 0x7f; }

// tchar (RFC 9110 section 5.6.2).
constexpr bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// A byte allowed in a field value (RFC 9110 section 5.5): VCHAR, obs-text, SP, HTAB. So every
// control character but HTAB is refused (NUL, CR, LF, DEL among them).
constexpr bool is_field_char(char c) { return is_vchar(c) || is_obs_text(c) || is_ows(c); }

// qdtext and the byte after a backslash in a quoted-pair (RFC 9110 section 5.6.4).
constexpr bool is_qdtext(char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
         is_obs_text(c);
}
constexpr bool is_quoted_pair_char(char c) { return c == '\t' || c == ' ' || is_vchar(c) || is_obs_text(c); }

bool is_token(std::string_view s);
std::string_view trim_ows(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string lower(std::string_view s);
// The elements of a comma-separated list, each trimmed of OWS; empty elements are kept.
std::vector<std::string_view> split_list(std::string_view value);

// A request-target made only of the bytes RFC 3986 allows raw (unreserved, sub-delims, ":@/?",
// "[]" for IP literals) and well-formed percent-encodings. So no space, control, non-ASCII
// byte, '#', '"', '<', '>', '\\', '^', '`', '{', '|', '}'.
bool is_valid_target(std::string_view target);

// host [":" port] as Host carries it (RFC 9110 section 7.2): an IP literal in brackets or a
// reg-name (unreserved, sub-delims, percent-encodings), and digits after the colon. Empty is
// valid (a target URI without authority).
bool is_valid_host(std::string_view host);

}  // namespace outboard::http::syntax
