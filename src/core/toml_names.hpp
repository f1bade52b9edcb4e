#pragma once
// How error messages about TOML input (config files, lab scenarios) name what they found.
#include <toml++/toml.h>

#include <string>

namespace outboard::core {

// "a string", "an integer", "a float", "a boolean", "an array", "a table", "a date or time".
std::string toml_type_name(toml::node const& node);

}  // namespace outboard::core
