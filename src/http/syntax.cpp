#include "http/syntax.hpp"

#include <algorithm>

namespace outboard::http::syntax {

namespace {

constexpr bool is_unreserved(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

constexpr bool is_sub_delim(char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=':
      return true;
    default:
      return false;
  }
}

// Every byte is `allowed` or starts a "%" HEXDIG HEXDIG.
template <class Allowed>
bool percent_encoded_of(std::string_view s, Allowed allowed) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!allowed(s[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> out;
  for (;;) {
    auto comma = value.find(',');
    out.push_back(trim_ows(value.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    value.remove_prefix(comma + 1);
  }
}

bool is_valid_target(std::string_view target) {
  return percent_encoded_of(target, [](char c) {
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/' || c == '?' || c == '[' ||
           c == ']';
  });
}

bool is_valid_host(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (host.starts_with('[')) {
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    auto literal = host.substr(1, close - 1);
    bool ok = !literal.empty() && std::all_of(literal.begin(), literal.end(), [](char c) {
      return is_hex(c) || c == ':' || c == '.' || is_unreserved(c) || is_sub_delim(c);
    });
    if (!ok) return false;
    auto rest = host.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
  } else {
    auto colon = host.find(':');
    if (colon != std::string_view::npos) {
      name = host.substr(0, colon);
      port = host.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) return false;
    }
    if (!percent_encoded_of(name, [](char c) { return is_unreserved(c) || is_sub_delim(c); })) return false;
  }
  return std::all_of(port.begin(), port.end(), is_digit);
}

}  // namespace outboard::http::syntax
