#include "actors/protocol.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "actors/json_text.hpp"

namespace outboard::actors {

using nlohmann::json;

std::string_view to_string(BadMessage why) {
  switch (why) {
    case BadMessage::malformed: return "malformed";
    case BadMessage::unknown_type: return "unknown_type";
    case BadMessage::unknown_game: return "unknown_game";
  }
  return "malformed";
}

namespace {


// An integer field within [lo, hi]; nullopt when missing, not an integer or out of range.
std::optional<std::int64_t> integer(json const& j, char const* name, std::int64_t lo, std::int64_t hi) {
  auto it = j.find(name);
  if (it == j.end()) return std::nullopt;
  std::int64_t v = 0;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) return std::nullopt;
    v = it->get<std::int64_t>();
  } else {
    return std::nullopt;
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

ClientMessage parse_move(json const& j) {
  auto seq = integer(j, "seq", 1, std::numeric_limits<std::int64_t>::max());
  // Any int is a well-formed coordinate: the room refuses one off the grid (out_of_bounds).
  auto x = integer(j, "x", std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  auto y = integer(j, "y", std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  if (!seq || !x || !y) return BadMessage::malformed;
  return MoveMessage{Move{*seq, static_cast<int>(*x), static_cast<int>(*y)}};
}

ClientMessage parse_join(json const& j) {
  JoinMessage join;
  if (auto it = j.find("game"); it != j.end()) {
    if (!it->is_string()) return BadMessage::malformed;
    join.game = it->get<std::string>();
    if (join.game != "paint") return BadMessage::unknown_game;
  }
  return join;
}

}  // namespace

ClientMessage parse_client_message(std::string_view text) {
  if (text.size() > kMaxClientMessageBytes) return BadMessage::malformed;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return BadMessage::malformed;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return BadMessage::malformed;
  auto const& name = type->get_ref<std::string const&>();
  if (name == "move") return parse_move(j);
  if (name == "join") return parse_join(j);
  return BadMessage::unknown_type;
}

std::string encode_welcome(std::string_view room, std::string_view player, PaintRoom const& state,
                           std::string_view activation) {
  return json_text(json{{"type", "welcome"},          {"room", room},
              {"player", player},           {"last_seq", state.last_seq(player)},
              {"version", state.version()}, {"activation", activation},
              {"grid", state.grid()}});
}

std::string encode_moved(std::string_view player, Move const& move, std::int64_t version,
                         std::string_view activation, std::int64_t at_us) {
  return json_text(json{{"type", "moved"}, {"player", player},   {"seq", move.seq},         {"x", move.x},
                      {"y", move.y},     {"version", version}, {"activation", activation}, {"at_us", at_us}});
}

std::string encode_refused(std::int64_t seq, Refusal why, std::int64_t expected) {
  json j{{"type", "refused"}, {"seq", seq}, {"reason", to_string(why)}};
  if (why == Refusal::out_of_order) j["expected"] = expected;
  return json_text(j);
}

bool valid_room_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace outboard::actors
