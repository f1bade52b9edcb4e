#include "http/json_text.hpp"

#include <array>

namespace outboard::http {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// At a byte >= 0x80: how many bytes nlohmann's UTF-8 decoder takes as one unit, and whether they
// are one well-formed sequence (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF),
// copied as they are. Otherwise the unit becomes one U+FFFD: a byte that cannot start a sequence,
// alone, or a lead with the continuation bytes that fitted before one did not (that one is read
// again, as the start of the next unit), or a sequence the text ends inside.
struct Utf8Unit {
  std::size_t length;
  bool well_formed;
};
Utf8Unit utf8_unit(std::string_view s) {
  auto lead = static_cast<unsigned char>(s[0]);
  std::size_t continuations = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the next continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuations = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuations = 2;
    if (lead == 0xE0) low = 0xA0;   // no overlongs
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuations = 3;
    if (lead == 0xF0) low = 0x90;   // no overlongs
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i <= continuations; ++i) {
    if (i >= s.size()) return {i, false};
    auto byte = static_cast<unsigned char>(s[i]);
    if (byte < low || byte > high) return {i, false};
    low = 0x80;
    high = 0xBF;
  }
  return {continuations + 1, true};
}

// Bytes copied as they are: printable ASCII but the quote and the backslash. A table, so that the
// scan over a run costs a load and a test per byte (json_quote is on every hot route's answer).
constexpr auto kCopiedAsIs = [] {
  std::array<bool, 256> table{};
  for (int byte = 0x20; byte < 0x80; ++byte) table[byte] = byte != '"' && byte != '\\';
  return table;
}();

bool copied_as_is(unsigned char byte) { return kCopiedAsIs[byte]; }

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);  // escapes may grow it further, plain text not
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    // A run of such bytes in one append: most strings are nothing else.
    std::size_t run = i;
    while (run < text.size() && copied_as_is(static_cast<unsigned char>(text[run]))) ++run;
    if (run > i) {
      out.append(text.substr(i, run - i));
      i = run;
      continue;
    }
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x80) {
      auto unit = utf8_unit(text.substr(i));
      if (unit.well_formed) {
        out.append(text.substr(i, unit.length));
      } else {
        out += "\xEF\xBF\xBD";
      }
      i += unit.length;
      continue;
    }
    ++i;
    switch (byte) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\t': out += "\\t"; continue;
      case '\n': out += "\\n"; continue;
      case '\f': out += "\\f"; continue;
      case '\r': out += "\\r"; continue;
      default: break;
    }
    if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += static_cast<char>(byte);
    }
  }
  out += '"';
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  append_json_string(out, text);
  return out;
}

}  // namespace outboard::http
