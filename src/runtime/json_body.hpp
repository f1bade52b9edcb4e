#pragma once
// Reading a JSON request body with a reason for everything that can be wrong with it; and
// writing a JSON string literal on the hot path.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "http/message.hpp"

namespace outboard::runtime {

// The body as a JSON object; Errc::invalid naming the problem (not JSON, not an object, wrong
// content type) otherwise.
core::Result<nlohmann::json> parse_json_object(http::Request const& request);

// obj[name] as a string of 1..max_length characters; Errc::invalid naming the field otherwise.
core::Result<std::string> require_string(nlohmann::json const& obj, std::string const& name,
                                         std::size_t max_length);

// `text` as a JSON string literal, quotes included: the same text nlohmann::json(text).dump()
// makes, invalid UTF-8 replaced by U+FFFD (as http::json_response does). Cost: one pass and one
// allocation when `text` is ASCII (ids, names, JSON bodies), where nlohmann's serializer takes
// several times that (a json value, a stream adapter, a UTF-8 decoder per byte); text with
// bytes past ASCII goes through nlohmann.
std::string json_quote(std::string_view text);

}  // namespace outboard::runtime
