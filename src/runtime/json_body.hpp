#pragma once
// Reading a JSON request body with a reason for everything that can be wrong with it.
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "http/message.hpp"

namespace outboard::runtime {

// The body as a JSON object; Errc::invalid naming the problem (not JSON, not an object, wrong
// content type) otherwise.
core::Result<nlohmann::json> parse_json_object(http::Request const& request);

// obj[name] as a string of 1..max_length characters; Errc::invalid naming the field otherwise.
core::Result<std::string> require_string(nlohmann::json const& obj, std::string const& name,
                                         std::size_t max_length);

}  // namespace outboard::runtime
