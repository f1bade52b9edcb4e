#pragma once
// The JSON protocol spoken on GET /ws (docs/REALTIME.md): decoding what a client sends (untrusted:
// fuzzed by tests/fuzz/realtime_protocol_fuzz.cpp) and encoding what the server sends. Pure
// functions, no sockets, no store.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace outboard::realtime {

struct JoinRequest {
  std::string room;
  std::optional<std::int64_t> since;  // the last seq the client saw; nullopt: live only
};
struct LeaveRequest {
  std::string room;
};
struct SendRequest {
  std::string room;
  std::string id;  // the client's message id (a resend carries the same)
  std::string text;
};
struct PresenceRequest {
  std::string room;
};
using ClientMessage = std::variant<JoinRequest, LeaveRequest, SendRequest, PresenceRequest>;

// A client message refused. `fatal`: the text is not a JSON object at all, and the connection
// closes with 1007 and `detail` as the reason; otherwise the client gets an `error` message and
// the connection stays open.
struct DecodeError {
  std::string error;   // "bad_message", "unknown_type"
  std::string detail;  // for a human; never echoes more than a few bytes of the input
  bool fatal = false;
  std::string room;  // when the message named a valid one, for the error answer
  std::string id;    // when a send carried a valid id
};

// Brackets nested deeper than this (counted before the parse) are refused like text that is not
// JSON (fatal, 1007): a message is one level deep, unknown fields may add a few.
inline constexpr int kMaxJsonDepth = 8;

struct DecodeLimits {
  std::size_t max_text_bytes = 4096;
};

using Decoded = std::variant<ClientMessage, DecodeError>;
Decoded decode_client_message(std::string_view frame, DecodeLimits const& limits);

// The naming rules of docs/REALTIME.md.
bool valid_room_name(std::string_view room);
bool valid_message_id(std::string_view id);
// "user.<id>" rooms belong to that user; every other valid room is open to any logged-in user.
bool may_enter(std::string_view room, std::string_view user);

// --- server -> client ---

struct Limits {
  std::size_t max_message_bytes = 8192;
  std::size_t max_text_bytes = 4096;
  int messages_per_second = 20;
  int max_rooms = 32;
};

std::string encode_hello(std::string_view instance, std::string_view user, Limits const& limits);
std::string encode_joined(std::string_view room, std::int64_t seq);
std::string encode_left(std::string_view room);
std::string encode_sent(std::string_view room, std::string_view id, std::int64_t seq, bool duplicate);
std::string encode_history_truncated(std::string_view room, std::int64_t since, std::int64_t oldest,
                                     std::int64_t seq);
// `users` are written sorted, whatever their order.
std::string encode_presence(std::string_view room, std::vector<std::string> const& users);
std::string encode_error(std::string_view error, std::string_view detail, std::string_view room = {},
                         std::string_view id = {});

// A message as the feed stores it: {"id":..,"from":..,"at":..,"text":..}. The room and seq are not
// in it (the feed gives the seq), so one stored body serves every delivery.
std::string encode_stored_message(std::string_view id, std::string_view from, std::int64_t at_ms,
                                  std::string_view text);
// The `message` frame for a stored body: {"type":"message","room":..,"seq":..,<the stored fields>}.
// Splices text, no JSON parse: `stored` must come from encode_stored_message (a body that is not a
// JSON object yields nullopt, e.g. a foreign writer's entry).
std::optional<std::string> encode_delivery(std::string_view room, std::int64_t seq, std::string_view stored);

}  // namespace outboard::realtime
