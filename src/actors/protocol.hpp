#pragma once
// The JSON messages of GET /rooms/{id} (docs/ACTORS.md). Parsing takes untrusted bytes: it never
// throws and names what is wrong (tests/fuzz/actors_protocol_fuzz.cpp).
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "actors/paint_room.hpp"

namespace outboard::actors {

inline constexpr std::size_t kMaxClientMessageBytes = 1024;

struct JoinMessage {
  std::string game = "paint";
};
struct MoveMessage {
  Move move;
};
// Why a message could not be taken; each closes the WebSocket with its code (docs/ACTORS.md).
enum class BadMessage {
  malformed,     // 1007: not a JSON object, or a field of the wrong type or out of range
  unknown_type,  // 1003
  unknown_game,  // 1003
};
std::string_view to_string(BadMessage why);

using ClientMessage = std::variant<JoinMessage, MoveMessage, BadMessage>;
ClientMessage parse_client_message(std::string_view text);

// The server's messages. `activation` names who answers: "<owner>/<generation>".
std::string encode_welcome(std::string_view room, std::string_view player, PaintRoom const& state,
                           std::string_view activation);
std::string encode_moved(std::string_view player, Move const& move, std::int64_t version,
                         std::string_view activation, std::int64_t at_us);
std::string encode_refused(std::int64_t seq, Refusal why, std::int64_t expected);

// Whether `id` may name a room: 1 to 64 of A-Z a-z 0-9 _ -.
bool valid_room_id(std::string_view id);

}  // namespace outboard::actors
