#pragma once
// Reading the JSON results `outboard lab` writes.
#include <nlohmann/json.hpp>

#include <string>

namespace outboard::testing {

// The entry of results["modes"] whose "mode" is `name`; a test failure and {} when there is none.
nlohmann::json mode_named(nlohmann::json const& results, std::string const& name);

}  // namespace outboard::testing
