#pragma once
// A JSON value as text, for every message and record of the game rooms: an invalid UTF-8 byte
// becomes U+FFFD instead of nlohmann's exception (ids are bytes until proven otherwise).
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace outboard::actors {

std::string json_text(nlohmann::json const& value);

}  // namespace outboard::actors
