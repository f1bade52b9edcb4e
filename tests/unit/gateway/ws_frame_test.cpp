// FrameTracker: the frame boundaries and header checks the WebSocket tunnel relies on. Every
// stream is also fed split in two at every byte offset, since a socket read can end anywhere.
#include "gateway/ws_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace outboard::gateway::ws {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::span<std::uint8_t const> span_of(Bytes const& b, std::size_t from = 0, std::size_t to = SIZE_MAX) {
  to = std::min(to, b.size());
  return {b.data() + from, to - from};
}

// A whole frame: header (length in its minimal encoding) plus `length` payload bytes.
Bytes frame(std::uint8_t first_byte, std::uint64_t length, bool masked) {
  Bytes out{first_byte};
  std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (length < 126) {
    out.push_back(static_cast<std::uint8_t>(mask_bit | length));
  } else if (length < 0x10000) {
    out.push_back(mask_bit | 126);
    out.push_back(static_cast<std::uint8_t>(length >> 8));
    out.push_back(static_cast<std::uint8_t>(length));
  } else {
    out.push_back(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(length >> shift));
  }
  if (masked) out.insert(out.end(), {0x11, 0x22, 0x33, 0x44});
  for (std::uint64_t i = 0; i < length; ++i) out.push_back(static_cast<std::uint8_t>('a' + i % 26));
  return out;
}

struct Stream {
  Bytes bytes;
  std::set<std::size_t> boundaries{0};  // offsets between frames
  void add(Bytes const& f) {
    bytes.insert(bytes.end(), f.begin(), f.end());
    boundaries.insert(bytes.size());
  }
  void add_raw(Bytes const& b) { bytes.insert(bytes.end(), b.begin(), b.end()); }
};

// Every offset within 32 bytes of a frame boundary: all the header bytes and payload ends.
bool near_a_boundary(Stream const& s, std::size_t offset) {
  auto after = s.boundaries.lower_bound(offset);
  if (after != s.boundaries.end() && *after - offset <= 32) return true;
  return after != s.boundaries.begin() && offset - *std::prev(after) <= 32;
}

struct ValidCase {
  char const* name;
  Sender sender;
  std::vector<Bytes> frames;
  std::uint64_t closes;
};

std::vector<ValidCase> valid_cases() {
  return {
      {"masked text", Sender::client, {frame(0x81, 5, true)}, 0},
      {"empty binary", Sender::client, {frame(0x82, 0, true)}, 0},
      {"16-bit length", Sender::client, {frame(0x82, 200, true)}, 0},
      {"64-bit length", Sender::client, {frame(0x82, 70'000, true)}, 0},
      {"server text unmasked", Sender::server, {frame(0x81, 3, false), frame(0x82, 300, false)}, 0},
      {"fragments with a ping between",
       Sender::client,
       {frame(0x01, 4, true), frame(0x89, 2, true), frame(0x00, 4, true), frame(0x80, 1, true)},
       0},
      {"ping pong close", Sender::server, {frame(0x89, 0, false), frame(0x8A, 125, false), frame(0x88, 2, false)}, 1},
      {"close then more", Sender::client, {frame(0x88, 0, true), frame(0x81, 1, true)}, 1},
  };
}

TEST(FrameTracker, ValidStreamsEndAtABoundaryWhateverTheSplit) {
  for (auto const& c : valid_cases()) {
    Stream s;
    for (auto const& f : c.frames) s.add(f);
    for (std::size_t split = 0; split <= s.bytes.size(); ++split) {
      // Inside the 64-bit frame's payload a sample is enough: every offset there is the same case.
      if (s.bytes.size() > 4096 && !near_a_boundary(s, split) && split % 997 != 0) continue;
      SCOPED_TRACE(std::string(c.name) + ", split at " + std::to_string(split));
      FrameTracker t(c.sender);
      auto first = t.feed(span_of(s.bytes, 0, split));
      ASSERT_FALSE(first.error) << to_string(*first.error);
      EXPECT_EQ(first.consumed, split);
      EXPECT_EQ(t.at_boundary(), s.boundaries.contains(split));
      auto second = t.feed(span_of(s.bytes, split));
      ASSERT_FALSE(second.error) << to_string(*second.error);
      EXPECT_EQ(second.consumed, s.bytes.size() - split);
      EXPECT_TRUE(t.at_boundary());
      EXPECT_TRUE(t.partial_header().empty());
      EXPECT_EQ(t.close_frames(), c.closes);
    }
  }
}

struct InvalidCase {
  char const* name;
  Sender sender;
  Bytes valid_prefix;  // whole frames before the bad header
  Bytes bad;           // the bad header (what of it exists)
  FrameError error;
  std::size_t error_at;  // index in `bad` of the byte that makes it bad
};

std::vector<InvalidCase> invalid_cases() {
  Bytes msb_length{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  Bytes long_for_1000{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0x03, 0xE8, 1, 2, 3, 4};
  Bytes short_for_100{0x82, 0xFE, 0x00, 0x64, 1, 2, 3, 4};
  return {
      {"rsv1", Sender::client, {}, {0xC1, 0x85}, FrameError::reserved_bits, 0},
      {"rsv3 after a frame", Sender::client, frame(0x81, 3, true), {0x91, 0x80}, FrameError::reserved_bits, 0},
      {"opcode 3", Sender::client, {}, {0x83, 0x80}, FrameError::unknown_opcode, 0},
      {"opcode 0xB", Sender::server, {}, {0x8B, 0x00}, FrameError::unknown_opcode, 0},
      {"ping of 126 bytes", Sender::client, {}, {0x89, 0xFE, 0, 126}, FrameError::control_too_long, 1},
      {"close without fin", Sender::server, {}, {0x08, 0x00}, FrameError::control_fragmented, 0},
      {"client frame unmasked", Sender::client, frame(0x82, 10, true), {0x81, 0x05}, FrameError::mask_missing, 1},
      {"server frame masked", Sender::server, {}, {0x81, 0x85, 1, 2, 3, 4}, FrameError::mask_forbidden, 1},
      {"64-bit length msb", Sender::client, {}, msb_length, FrameError::length_msb_set, 9},
      {"64-bit length for 1000", Sender::client, {}, long_for_1000, FrameError::length_not_minimal, 9},
      {"16-bit length for 100", Sender::client, {}, short_for_100, FrameError::length_not_minimal, 3},
      {"continuation first", Sender::client, {}, {0x80, 0x80}, FrameError::unexpected_continuation, 0},
      {"new text inside a message", Sender::client, frame(0x01, 2, true), {0x81, 0x80},
       FrameError::message_interleaved, 0},
      {"continuation after the last fragment", Sender::server, frame(0x82, 1, false), {0x80, 0x00},
       FrameError::unexpected_continuation, 0},
  };
}

// The error comes at the bad byte whatever the split; the bad header's earlier bytes are held
// (never counted as passed), and the tracker takes nothing afterwards.
TEST(FrameTracker, InvalidHeadersAreReportedAtTheBadByteWhateverTheSplit) {
  for (auto const& c : invalid_cases()) {
    Stream s;
    s.add_raw(c.valid_prefix);
    s.add_raw(c.bad);
    std::size_t bad_at = c.valid_prefix.size() + c.error_at;
    for (std::size_t split = 0; split <= s.bytes.size(); ++split) {
      SCOPED_TRACE(std::string(c.name) + ", split at " + std::to_string(split));
      FrameTracker t(c.sender);
      auto first = t.feed(span_of(s.bytes, 0, split));
      std::size_t taken = first.consumed;
      std::optional<FrameError> error = first.error;
      if (!error) {
        EXPECT_EQ(first.consumed, split);
        auto second = t.feed(span_of(s.bytes, split));
        taken += second.consumed;
        error = second.error;
      }
      ASSERT_TRUE(error.has_value());
      EXPECT_EQ(*error, c.error) << to_string(*error);
      EXPECT_EQ(taken, bad_at);
      EXPECT_EQ(t.partial_header().size(), c.error_at) << "the bad header's bytes before the bad one are held";
      EXPECT_TRUE(t.failed());
      EXPECT_FALSE(t.at_boundary());
      Bytes more = frame(0x82, 1, c.sender == Sender::client);
      auto after = t.feed(span_of(more));
      EXPECT_EQ(after.consumed, 0u);
      EXPECT_EQ(after.error, c.error);
    }
  }
}

TEST(FrameTracker, StopAtFrameEndTakesOnlyTheRestOfTheFrame) {
  Bytes first = frame(0x82, 10, true);
  Bytes next = frame(0x81, 3, true);
  Stream s;
  s.add(first);
  s.add(next);
  FrameTracker t(Sender::client);
  ASSERT_EQ(t.feed(span_of(s.bytes, 0, 9)).consumed, 9u);  // header (6) and 3 payload bytes
  EXPECT_TRUE(t.in_payload());
  auto r = t.feed(span_of(s.bytes, 9), Stop::at_frame_end);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.consumed, first.size() - 9);
  EXPECT_TRUE(t.at_boundary());
  // At a boundary, or with a header only partly in, there is nothing to finish.
  EXPECT_EQ(t.feed(span_of(s.bytes, first.size()), Stop::at_frame_end).consumed, 0u);
  ASSERT_EQ(t.feed(span_of(s.bytes, first.size(), first.size() + 3)).consumed, 3u);
  EXPECT_EQ(t.partial_header().size(), 3u);
  EXPECT_FALSE(t.in_payload());
  EXPECT_EQ(t.feed(span_of(s.bytes, first.size() + 3), Stop::at_frame_end).consumed, 0u);
}

TEST(FrameTracker, AZeroLengthFrameIsWholeOnceItsHeaderIs) {
  Bytes f = frame(0x88, 0, false);
  FrameTracker t(Sender::server);
  EXPECT_EQ(t.feed(span_of(f, 0, 1)).consumed, 1u);
  EXPECT_EQ(t.close_frames(), 0u);
  EXPECT_EQ(t.feed(span_of(f, 1)).consumed, 1u);
  EXPECT_EQ(t.close_frames(), 1u);
  EXPECT_TRUE(t.at_boundary());
}

TEST(FrameTracker, ACloseFrameCountsOnlyOnceItsPayloadIsIn) {
  Bytes f = frame(0x88, 2, true);
  FrameTracker t(Sender::client);
  t.feed(span_of(f, 0, f.size() - 1));
  EXPECT_EQ(t.close_frames(), 0u);
  t.feed(span_of(f, f.size() - 1));
  EXPECT_EQ(t.close_frames(), 1u);
}

Bytes to_bytes(std::string const& s) { return Bytes(s.begin(), s.end()); }

TEST(EncodeCloseFrame, UnmaskedForTheClient) {
  std::string f = encode_close_frame(kCloseGoingAway, "going away", std::nullopt);
  EXPECT_EQ(f, std::string("\x88\x0C\x03\xE9", 4) + "going away");
  FrameTracker t(Sender::server);
  auto bytes = to_bytes(f);
  EXPECT_FALSE(t.feed(span_of(bytes)).error);
  EXPECT_EQ(t.close_frames(), 1u);
}

TEST(EncodeCloseFrame, MaskedForTheBackend) {
  std::array<std::uint8_t, 4> mask{0xA1, 0xB2, 0xC3, 0xD4};
  std::string f = encode_close_frame(kCloseProtocolError, "bad", mask);
  ASSERT_EQ(f.size(), 2u + 4u + 5u);
  EXPECT_EQ(static_cast<std::uint8_t>(f[0]), 0x88);
  EXPECT_EQ(static_cast<std::uint8_t>(f[1]), 0x80 | 5);
  std::string payload;
  for (std::size_t i = 0; i < 5; ++i) payload += static_cast<char>(f[6 + i] ^ mask[i % 4]);
  EXPECT_EQ(payload, std::string("\x03\xEA", 2) + "bad");
  FrameTracker t(Sender::client);
  auto bytes = to_bytes(f);
  EXPECT_FALSE(t.feed(span_of(bytes)).error);
  EXPECT_EQ(t.close_frames(), 1u);
}

TEST(EncodeCloseFrame, ALongReasonIsCutToFitAControlFrame) {
  std::string f = encode_close_frame(kCloseGoingAway, std::string(300, 'x'), std::nullopt);
  EXPECT_EQ(f.size(), 2u + 125u);
  EXPECT_EQ(static_cast<std::uint8_t>(f[1]), 125);
}

}  // namespace
}  // namespace outboard::gateway::ws
