#include "auth/jwt_json.hpp"

#include <set>
#include <string>
#include <vector>

namespace outboard::auth {

JwtResult<nlohmann::json> parse_json_object_strict(std::string_view text) {
  // The parser callback sees every member name with the depth it is at; one set of names per open
  // object finds duplicates, and the depth of each opening bracket finds over-nesting.
  std::vector<std::set<std::string>> open_objects;
  bool refused = false;
  auto watch = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& value) {
    using Event = nlohmann::json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth) refused = true;
    if (event == Event::object_start) open_objects.emplace_back();
    if (event == Event::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == Event::key && !open_objects.empty() &&
        !open_objects.back().insert(value.get<std::string>()).second) {
      refused = true;
    }
    return true;
  };
  auto parsed = nlohmann::json::parse(text.begin(), text.end(), watch, /*allow_exceptions=*/false);
  // nlohmann::json converts from almost anything, so the result's side is named explicitly.
  if (refused || parsed.is_discarded() || !parsed.is_object()) {
    return JwtResult<nlohmann::json>(boost::system::in_place_error, JwtReject::bad_json);
  }
  return JwtResult<nlohmann::json>(boost::system::in_place_value, std::move(parsed));
}

}  // namespace outboard::auth
