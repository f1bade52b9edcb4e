#pragma once
// Text as a JSON string literal, without building a JSON value: for bodies written by hand on hot
// paths (the shop's small answers, idempotency records, realtime frames). Writes what nlohmann
// writes (the same escapes; an invalid UTF-8 byte becomes U+FFFD, as its error_handler_t::replace
// does), so the output is always valid JSON and reads back with nlohmann.
#include <string>
#include <string_view>

namespace outboard::http {

// Appends `text`, quoted and escaped, to `out`.
void append_json_string(std::string& out, std::string_view text);
// `text` quoted and escaped.
std::string json_quote(std::string_view text);

}  // namespace outboard::http
