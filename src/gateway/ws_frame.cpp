#include "gateway/ws_frame.hpp"

#include <algorithm>

namespace outboard::gateway::ws {
namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kControlBit = 0x08;  // opcodes 0x8-0xF are control frames
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
constexpr std::size_t kMaxControlPayload = 125;

constexpr std::uint8_t kContinuation = 0x0;
constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kClose = 0x8;
constexpr std::uint8_t kPing = 0x9;
constexpr std::uint8_t kPong = 0xA;

bool known_opcode(std::uint8_t op) {
  return op == kContinuation || op == kText || op == kBinary || op == kClose || op == kPing || op == kPong;
}

std::size_t extended_length_size(std::uint8_t second_byte) {
  std::uint8_t len7 = second_byte & kLengthBits;
  return len7 == kLength16 ? 2 : len7 == kLength64 ? 8 : 0;
}

}  // namespace

std::string_view to_string(FrameError error) {
  switch (error) {
    case FrameError::reserved_bits: return "reserved bits set";
    case FrameError::unknown_opcode: return "unknown opcode";
    case FrameError::control_too_long: return "control frame over 125 bytes";
    case FrameError::control_fragmented: return "fragmented control frame";
    case FrameError::mask_missing: return "client frame not masked";
    case FrameError::mask_forbidden: return "server frame masked";
    case FrameError::length_msb_set: return "64-bit length with its most significant bit set";
    case FrameError::length_not_minimal: return "length not in its minimal encoding";
    case FrameError::unexpected_continuation: return "continuation frame outside a message";
    case FrameError::message_interleaved: return "new message inside a fragmented one";
  }
  return "unknown frame error";
}

std::size_t FrameTracker::header_size() const {
  return 2 + extended_length_size(header_[1]) + ((header_[1] & kMaskBit) ? 4 : 0);
}

std::optional<FrameError> FrameTracker::check_first_byte(std::uint8_t b) const {
  std::uint8_t op = b & kOpcodeBits;
  if (b & kReservedBits) return FrameError::reserved_bits;
  if (!known_opcode(op)) return FrameError::unknown_opcode;
  if ((op & kControlBit) && !(b & kFin)) return FrameError::control_fragmented;
  if (op == kContinuation && !in_message_) return FrameError::unexpected_continuation;
  if ((op == kText || op == kBinary) && in_message_) return FrameError::message_interleaved;
  return std::nullopt;
}

std::optional<FrameError> FrameTracker::check_second_byte(std::uint8_t b) const {
  bool masked = (b & kMaskBit) != 0;
  if (sender_ == Sender::client && !masked) return FrameError::mask_missing;
  if (sender_ == Sender::server && masked) return FrameError::mask_forbidden;
  if ((header_[0] & kControlBit) && (b & kLengthBits) > kMaxControlPayload) return FrameError::control_too_long;
  return std::nullopt;
}

// Called once the extended length (16 or 64 bits) is in header_.
std::optional<FrameError> FrameTracker::check_extended_length() const {
  std::uint64_t length = extended_length();
  if (header_len_ == 10 && (header_[2] & 0x80)) return FrameError::length_msb_set;
  std::uint64_t smallest = header_len_ == 4 ? kLength16 : 0x10000;
  if (length < smallest) return FrameError::length_not_minimal;
  return std::nullopt;
}

std::uint64_t FrameTracker::extended_length() const {
  std::size_t ext = extended_length_size(header_[1]);
  if (ext == 0) return header_[1] & kLengthBits;
  std::uint64_t length = 0;
  for (std::size_t i = 0; i < ext; ++i) length = (length << 8) | header_[2 + i];
  return length;
}

// Called once the whole header is in header_ and has passed its checks.
void FrameTracker::complete_header() {
  opcode_ = header_[0] & kOpcodeBits;
  fin_ = (header_[0] & kFin) != 0;
  // Control frames may come between the fragments of a message and do not end it.
  if (opcode_ == kText || opcode_ == kBinary) in_message_ = !fin_;
  if (opcode_ == kContinuation && fin_) in_message_ = false;
  payload_left_ = extended_length();
  header_len_ = 0;
  if (payload_left_ == 0) end_of_frame();
}

void FrameTracker::end_of_frame() {
  if (opcode_ == kClose) ++close_frames_;
}

FeedResult FrameTracker::feed(std::span<std::uint8_t const> bytes, Stop stop) {
  if (error_) return {0, error_};
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (payload_left_ > 0) {
      // Payload: counted, never looked at.
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, bytes.size() - i));
      payload_left_ -= n;
      i += n;
      if (payload_left_ == 0) end_of_frame();
      continue;
    }
    if (stop == Stop::at_frame_end) break;
    std::uint8_t b = bytes[i];
    std::optional<FrameError> error;
    if (header_len_ == 0) error = check_first_byte(b);
    if (header_len_ == 1) error = check_second_byte(b);
    if (!error) {
      header_[header_len_++] = b;
      if (header_len_ > 2 && header_len_ == 2 + extended_length_size(header_[1])) {
        error = check_extended_length();
        if (error) --header_len_;  // the last length byte is the offending one: not taken
      }
    }
    if (!error && header_len_ >= 2 && header_len_ == header_size()) complete_header();
    if (error) {
      error_ = error;
      return {i, error};
    }
    ++i;
  }
  return {i, std::nullopt};
}

std::string encode_close_frame(std::uint16_t code, std::string_view reason,
                               std::optional<std::array<std::uint8_t, 4>> mask) {
  reason = reason.substr(0, kMaxControlPayload - 2);
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += reason;
  std::string frame;
  frame += static_cast<char>(kFin | kClose);
  frame += static_cast<char>((mask ? kMaskBit : 0) | payload.size());
  if (mask) {
    for (std::uint8_t m : *mask) frame += static_cast<char>(m);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ (*mask)[i % 4]);
  }
  frame += payload;
  return frame;
}

}  // namespace outboard::gateway::ws
