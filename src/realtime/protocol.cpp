#include "realtime/protocol.hpp"

#include "http/json_text.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

namespace outboard::realtime {
namespace {

// --- decoding ---

// True when the brackets of `text` nest deeper than `max_depth`, counted outside strings. nlohmann
// 3.11 has no depth limit: its parser keeps its stack on the heap, but every level is a heap node,
// so an 8 KiB frame of '[' is 8192 allocations. Runs before the parse; on text that is not JSON the
// answer does not matter (the parse refuses it anyway).
bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

// A few bytes of client input for a detail, only when they are plain printable ASCII (the detail
// is sent back as JSON, and a fatal one becomes a close reason, which must be short UTF-8).
std::string quoted_excerpt(std::string_view text) {
  constexpr std::size_t kMaxExcerpt = 32;
  bool printable = text.size() <= kMaxExcerpt &&
                   std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  return printable ? " '" + std::string(text) + "'" : std::string();
}

DecodeError refusal(std::string error, std::string detail, bool fatal) {
  DecodeError refused;
  refused.error = std::move(error);
  refused.detail = std::move(detail);
  refused.fatal = fatal;
  return refused;
}

// The text is no JSON object at all: the connection closes with 1007 and `detail` as the reason.
DecodeError not_an_object(std::string detail) { return refusal("bad_message", std::move(detail), true); }
DecodeError bad_message(std::string detail) { return refusal("bad_message", std::move(detail), false); }

// The field `name` as a string, or nullptr when it is missing or not a string.
std::string const* string_field(nlohmann::json const& message, char const* name) {
  auto it = message.find(name);
  if (it == message.end() || !it->is_string()) return nullptr;
  return &it->get_ref<std::string const&>();
}

// Every message names a room; a valid one is kept in the error so the client can tell which
// request failed.
std::variant<std::string, DecodeError> read_room(nlohmann::json const& message) {
  auto const* room = string_field(message, "room");
  if (room == nullptr) return bad_message("'room' must be a string");
  if (!valid_room_name(*room)) return bad_message("'room' must be 1 to 64 of a-z 0-9 . _ - starting with a letter or digit");
  return *room;
}

Decoded decode_join(nlohmann::json const& message, std::string room) {
  JoinRequest join{std::move(room), std::nullopt};
  auto it = message.find("since");
  if (it == message.end()) return ClientMessage{std::move(join)};
  // nlohmann reads an integer beyond int64 as unsigned or as a double, and 1.0 as a double: only
  // a signed (or small unsigned) integer passes. null is not "absent": the field is optional, not
  // nullable.
  bool integer = it->is_number_integer() &&
                 (it->is_number_unsigned()
                      ? it->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max())
                      : it->get<std::int64_t>() >= 0);
  if (!integer) {
    auto error = bad_message("'since' must be an integer >= 0 (the last seq seen)");
    error.room = std::move(join.room);
    return error;
  }
  join.since = it->get<std::int64_t>();
  return ClientMessage{std::move(join)};
}

Decoded decode_send(nlohmann::json const& message, std::string room, DecodeLimits const& limits) {
  auto const* id = string_field(message, "id");
  if (id == nullptr || !valid_message_id(*id)) {
    auto error = bad_message("'id' must be 1 to 64 of A-Z a-z 0-9 . _ : -");
    error.room = std::move(room);
    return error;
  }
  auto const* text = string_field(message, "text");
  std::string detail;
  if (text == nullptr) {
    detail = "'text' must be a string";
  } else if (text->size() > limits.max_text_bytes) {
    detail = "'text' is longer than " + std::to_string(limits.max_text_bytes) + " bytes";
  }
  if (!detail.empty()) {
    auto error = bad_message(std::move(detail));
    error.room = std::move(room);
    error.id = *id;
    return error;
  }
  return ClientMessage{SendRequest{std::move(room), *id, *text}};
}

bool is_name_byte(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
}

// --- encoding ---


// A JSON object written field by field: JsonObject("joined").string("room", r).integer("seq", s).close().
class JsonObject {
 public:
  explicit JsonObject(std::string_view type) {
    out_ = "{\"type\":";
    http::append_json_string(out_, type);
  }
  JsonObject& string(std::string_view key, std::string_view value) {
    start(key);
    http::append_json_string(out_, value);
    return *this;
  }
  JsonObject& integer(std::string_view key, std::int64_t value) {
    start(key);
    out_ += std::to_string(value);
    return *this;
  }
  JsonObject& raw(std::string_view key, std::string_view json) {
    start(key);
    out_ += json;
    return *this;
  }
  std::string close() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void start(std::string_view key) {
    out_ += ',';
    http::append_json_string(out_, key);
    out_ += ':';
  }
  std::string out_;
};

}  // namespace

Decoded decode_client_message(std::string_view frame, DecodeLimits const& limits) {
  // nlohmann's lexer takes a NUL byte for the end of the input (for C strings), so it would read
  // `{...}\0garbage` as the object alone. JSON has no raw NUL anywhere (in a string it is \u0000).
  if (frame.find('\0') != std::string_view::npos) return not_an_object("not JSON (a NUL byte)");
  if (nests_deeper_than(frame, kMaxJsonDepth)) {
    return not_an_object("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  auto message = nlohmann::json::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return not_an_object("not JSON (or not UTF-8)");
  if (!message.is_object()) return not_an_object("not a JSON object");

  auto const* type = string_field(message, "type");
  if (type == nullptr) return bad_message("'type' must be a string");
  bool known = *type == "join" || *type == "leave" || *type == "send" || *type == "presence";
  if (!known) return refusal("unknown_type", "unknown message type" + quoted_excerpt(*type), false);

  auto room = read_room(message);
  if (auto* error = std::get_if<DecodeError>(&room)) return std::move(*error);
  auto& name = std::get<std::string>(room);
  if (*type == "join") return decode_join(message, std::move(name));
  if (*type == "send") return decode_send(message, std::move(name), limits);
  if (*type == "leave") return ClientMessage{LeaveRequest{std::move(name)}};
  return ClientMessage{PresenceRequest{std::move(name)}};
}

bool valid_room_name(std::string_view room) {
  if (room.empty() || room.size() > 64) return false;
  if (!is_name_byte(room.front(), {})) return false;
  return std::all_of(room.begin(), room.end(), [](char c) { return is_name_byte(c, "._-"); });
}

bool valid_message_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= 'A' && c <= 'Z') || is_name_byte(c, "._:-"); });
}

bool may_enter(std::string_view room, std::string_view user) {
  constexpr std::string_view kUserPrefix = "user.";
  if (!room.starts_with(kUserPrefix)) return true;
  return room.substr(kUserPrefix.size()) == user;
}

std::string encode_hello(std::string_view instance, std::string_view user, Limits const& limits) {
  std::string limits_json = "{\"max_message_bytes\":" + std::to_string(limits.max_message_bytes) +
                            ",\"max_text_bytes\":" + std::to_string(limits.max_text_bytes) +
                            ",\"messages_per_second\":" + std::to_string(limits.messages_per_second) +
                            ",\"max_rooms\":" + std::to_string(limits.max_rooms) + "}";
  return JsonObject("hello").string("instance", instance).string("user", user).raw("limits", limits_json).close();
}

std::string encode_joined(std::string_view room, std::int64_t seq) {
  return JsonObject("joined").string("room", room).integer("seq", seq).close();
}

std::string encode_left(std::string_view room) { return JsonObject("left").string("room", room).close(); }

std::string encode_sent(std::string_view room, std::string_view id, std::int64_t seq, bool duplicate) {
  JsonObject sent("sent");
  sent.string("room", room).string("id", id).integer("seq", seq);
  if (duplicate) sent.raw("duplicate", "true");
  return sent.close();
}

std::string encode_history_truncated(std::string_view room, std::int64_t since, std::int64_t oldest,
                                     std::int64_t seq) {
  return JsonObject("history_truncated")
      .string("room", room)
      .integer("since", since)
      .integer("oldest", oldest)
      .integer("seq", seq)
      .close();
}

std::string encode_presence(std::string_view room, std::vector<std::string> const& users) {
  std::vector<std::string_view> sorted(users.begin(), users.end());
  std::sort(sorted.begin(), sorted.end());
  std::string list = "[";
  for (auto const& user : sorted) {
    if (list.size() > 1) list += ',';
    http::append_json_string(list, user);
  }
  list += ']';
  return JsonObject("presence").string("room", room).raw("users", list).close();
}

std::string encode_error(std::string_view error, std::string_view detail, std::string_view room,
                         std::string_view id) {
  JsonObject message("error");
  message.string("error", error).string("detail", detail);
  if (!room.empty()) message.string("room", room);
  if (!id.empty()) message.string("id", id);
  return message.close();
}

std::string encode_stored_message(std::string_view id, std::string_view from, std::int64_t at_ms,
                                  std::string_view text) {
  std::string out = "{\"id\":";
  http::append_json_string(out, id);
  out += ",\"from\":";
  http::append_json_string(out, from);
  out += ",\"at\":" + std::to_string(at_ms) + ",\"text\":";
  http::append_json_string(out, text);
  out += '}';
  return out;
}

std::optional<std::string> encode_delivery(std::string_view room, std::int64_t seq, std::string_view stored) {
  // The shape encode_stored_message writes: '{"' ... '}'. Anything else is not ours to splice.
  if (stored.size() < 3 || !stored.starts_with("{\"") || !stored.ends_with('}')) return std::nullopt;
  std::string out = JsonObject("message").string("room", room).integer("seq", seq).close();
  out.back() = ',';
  out.append(stored.substr(1));
  return out;
}

}  // namespace outboard::realtime
