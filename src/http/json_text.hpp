#pragma once
// Text as a JSON string literal, without building a JSON value: for bodies written by hand on hot
// paths (the shop's small answers, idempotency records, realtime frames). Writes what nlohmann
// writes (the same escapes; ill-formed UTF-8 becomes U+FFFD wherever its error_handler_t::replace
// puts one: one per unit its decoder rejects, not one per byte), so the output is always valid
// JSON and reads back with nlohmann.
#include <string>
#include <string_view>

namespace outboard::http {

// Appends `text`, quoted and escaped, to `out`.
void append_json_string(std::string& out, std::string_view text);
// `text` quoted and escaped.
std::string json_quote(std::string_view text);

}  // namespace outboard::http
