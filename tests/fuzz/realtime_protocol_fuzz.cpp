// fuzz-link: outboard_realtime_protocol nlohmann_json::nlohmann_json
// The /ws protocol (realtime/protocol.hpp): any bytes as a client's text frame, and the same bytes
// as a message text the encoder must quote (ids and user names need not be UTF-8).
// Input: the frame, as it is.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "realtime/protocol.hpp"

namespace {

namespace rt = outboard::realtime;
using nlohmann::json;

constexpr rt::DecodeLimits kLimits{.max_text_bytes = 64};

// nlohmann's own view of the frame: the value (discarded when it is not JSON) and its deepest
// bracket, counted by the parser itself (its callback's depth is the number of open containers).
struct Reference {
  json value;
  int depth = 0;
};
Reference parse_reference(std::string_view frame) {
  Reference reference;
  auto count_depth = [&reference](int depth, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      reference.depth = std::max(reference.depth, depth + 1);
    }
    return true;
  };
  reference.value = json::parse(frame, count_depth, /*allow_exceptions=*/false);
  return reference;
}

bool printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  try {
    (void)json(text).dump();  // nlohmann's strict handler throws on what is not UTF-8
    return true;
  } catch (json::type_error const&) {
    return false;
  }
}

json parse_ours(std::string const& text) {
  auto parsed = json::parse(text, nullptr, false);
  FUZZ_CHECK(!parsed.is_discarded());
  FUZZ_CHECK(parsed.is_object());
  return parsed;
}

void check_refusal(rt::DecodeError const& error, Reference const& reference, std::string_view frame) {
  // nlohmann stops at a NUL byte as at the end of the input (it reads `{}\0junk` as `{}`): the
  // decoder must not, so a frame with one is no object here.
  bool has_nul = std::memchr(frame.data(), 0, frame.size()) != nullptr;
  bool an_object = !has_nul && !reference.value.is_discarded() && reference.value.is_object();
  // Fatal exactly when the text is not a JSON object nlohmann reads, or nests too deep.
  FUZZ_CHECK(error.fatal == (!an_object || reference.depth > rt::kMaxJsonDepth));
  FUZZ_CHECK(error.error == "bad_message" || (error.error == "unknown_type" && !error.fatal));
  // The detail may become a WebSocket close reason (at most 123 bytes) and never carries raw input.
  FUZZ_CHECK(!error.detail.empty() && error.detail.size() <= 123 && printable_ascii(error.detail));
  FUZZ_CHECK(error.room.empty() || rt::valid_room_name(error.room));
  FUZZ_CHECK(error.id.empty() || rt::valid_message_id(error.id));
  if (error.fatal) return;
  auto answer = parse_ours(rt::encode_error(error.error, error.detail, error.room, error.id));
  FUZZ_CHECK(answer["detail"] == error.detail);
}

// A decoded message says what the object said, within the doc's rules; a send stored and
// delivered reads back as the same text.
void check_decoded(rt::ClientMessage const& message, Reference const& reference, std::string_view frame) {
  FUZZ_CHECK(std::memchr(frame.data(), 0, frame.size()) == nullptr);
  FUZZ_CHECK(!reference.value.is_discarded() && reference.value.is_object());
  FUZZ_CHECK(reference.depth <= rt::kMaxJsonDepth);
  json const& object = reference.value;
  std::string type = object["type"].get<std::string>();
  std::string room = object["room"].get<std::string>();
  std::visit([&](auto const& request) { FUZZ_CHECK(request.room == room); }, message);
  FUZZ_CHECK(rt::valid_room_name(room));
  if (auto const* join = std::get_if<rt::JoinRequest>(&message)) {
    FUZZ_CHECK(type == "join");
    FUZZ_CHECK(join->since.has_value() == object.contains("since"));
    if (join->since) FUZZ_CHECK(*join->since >= 0 && object["since"] == *join->since);
  } else if (auto const* send = std::get_if<rt::SendRequest>(&message)) {
    FUZZ_CHECK(type == "send");
    FUZZ_CHECK(rt::valid_message_id(send->id) && send->id == object["id"]);
    FUZZ_CHECK(send->text.size() <= kLimits.max_text_bytes && send->text == object["text"]);
    auto delivery = rt::encode_delivery(room, 1, rt::encode_stored_message(send->id, "user", 0, send->text));
    FUZZ_CHECK(delivery.has_value());
    auto delivered = parse_ours(*delivery);
    FUZZ_CHECK(delivered["type"] == "message" && delivered["room"] == room && delivered["id"] == send->id);
    FUZZ_CHECK(delivered["text"] == send->text);
  } else {
    FUZZ_CHECK(type == (std::holds_alternative<rt::LeaveRequest>(message) ? "leave" : "presence"));
  }
}

// Any bytes as text, id and sender: the delivery is JSON, and UTF-8 comes back unchanged.
void check_encoder(std::string_view bytes) {
  auto delivery = rt::encode_delivery("r", 1, rt::encode_stored_message(bytes, bytes, -1, bytes));
  FUZZ_CHECK(delivery.has_value());
  auto delivered = parse_ours(*delivery);
  std::string text = delivered["text"].get<std::string>();
  FUZZ_CHECK(delivered["id"] == text && delivered["from"] == text);
  if (valid_utf8(bytes)) {
    FUZZ_CHECK(text == bytes);
  } else {
    FUZZ_CHECK(text.find("\xEF\xBF\xBD") != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view frame(reinterpret_cast<char const*>(data), size);
  auto decoded = rt::decode_client_message(frame, kLimits);
  auto reference = parse_reference(frame);
  if (auto const* error = std::get_if<rt::DecodeError>(&decoded)) {
    check_refusal(*error, reference, frame);
  } else {
    check_decoded(std::get<rt::ClientMessage>(decoded), reference, frame);
  }
  check_encoder(frame);
  return 0;
}
