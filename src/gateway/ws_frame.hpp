#pragma once
// RFC 6455 frame boundaries for a spliced WebSocket tunnel (pure: no sockets, no allocation).
//
// The gateway does not terminate WebSockets: it copies bytes. To close a tunnel politely (drain,
// idle timeout) it must put a close frame *between* two frames of each direction, never inside
// one, and it must not pass on a stream it cannot follow. FrameTracker follows one direction's
// bytes as they pass: it parses and checks each frame header (kept, at most 14 bytes) and only
// counts payload bytes, so its cost and memory do not depend on frame sizes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace outboard::gateway::ws {

// Who sends the bytes a tracker sees: a client must mask every frame, a server must not
// (RFC 6455 section 5.1).
enum class Sender { client, server };

enum class FrameError {
  reserved_bits,          // RSV1-3 set: no extension is negotiated through the gateway
  unknown_opcode,         // 0x3-0x7, 0xB-0xF
  control_too_long,       // close/ping/pong with a payload over 125 bytes
  control_fragmented,     // close/ping/pong without FIN
  mask_missing,           // a client frame without a mask
  mask_forbidden,         // a server frame with a mask
  length_msb_set,         // 64-bit payload length with its most significant bit set
  length_not_minimal,     // a 16/64-bit length that fits in fewer bytes (section 5.2 "MUST")
  unexpected_continuation,  // a continuation frame outside a fragmented message
  message_interleaved,    // a new text/binary frame inside an unfinished fragmented message
};

std::string_view to_string(FrameError error);

// Where feed() may stop early.
enum class Stop {
  never,         // take every byte (unless one is an error)
  at_frame_end,  // stop as soon as no payload is being counted: at a boundary or in a header
};

struct FeedResult {
  // Bytes of the input taken into the tracker's state. With an error: the index of the byte at
  // which the header was found invalid (it and what follows are not taken; the bad header's
  // earlier bytes stay in partial_header()). A failed tracker takes nothing more.
  std::size_t consumed = 0;
  std::optional<FrameError> error;
};

// Follows one direction of a WebSocket connection. One per direction, on one thread.
//
// Bytes of a header still arriving are "held": partial_header() returns them. A forwarder that
// writes only what has passed the checks (everything fed minus the held bytes) never sends a
// half header it may later have to refuse, so the destination is always between frames unless a
// payload is being counted (in_payload()).
class FrameTracker {
 public:
  explicit FrameTracker(Sender sender) : sender_(sender) {}

  FeedResult feed(std::span<std::uint8_t const> bytes, Stop stop = Stop::never);

  // True between frames: nothing of the next header seen yet, no payload owed.
  bool at_boundary() const { return !error_ && header_len_ == 0 && payload_left_ == 0; }
  // True while payload bytes of a frame whose header passed are still owed.
  bool in_payload() const { return payload_left_ > 0; }
  // The bytes of a header not yet complete (empty otherwise).
  std::span<std::uint8_t const> partial_header() const { return {header_.data(), header_len_}; }
  // Close frames (opcode 0x8) passed whole: header and payload.
  std::uint64_t close_frames() const { return close_frames_; }
  bool failed() const { return error_.has_value(); }

 private:
  std::size_t header_size() const;  // the full size of the header in header_, once byte 1 is in
  std::optional<FrameError> check_first_byte(std::uint8_t b) const;
  std::optional<FrameError> check_second_byte(std::uint8_t b) const;
  std::optional<FrameError> check_extended_length() const;
  std::uint64_t extended_length() const;  // the payload length, once the length bytes are in
  void complete_header();                 // starts counting the payload
  void end_of_frame();

  Sender sender_;
  std::array<std::uint8_t, 14> header_{};
  std::size_t header_len_ = 0;
  std::uint64_t payload_left_ = 0;
  std::uint8_t opcode_ = 0;  // of the frame whose payload is being counted
  bool fin_ = false;
  bool in_message_ = false;  // a text/binary message without its FIN frame yet
  std::optional<FrameError> error_;  // sticky
  std::uint64_t close_frames_ = 0;
};

inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kCloseProtocolError = 1002;

// A close frame (FIN, opcode 0x8) with `code` and `reason` (cut to the 123 bytes a control frame
// allows). Masked with `mask` when the gateway sends it to a backend (it speaks as the client
// there), unmasked when it sends it to the client (it speaks as the server).
std::string encode_close_frame(std::uint16_t code, std::string_view reason,
                               std::optional<std::array<std::uint8_t, 4>> mask);

}  // namespace outboard::gateway::ws
