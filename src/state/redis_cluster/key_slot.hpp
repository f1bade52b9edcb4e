#pragma once
// Redis Cluster's key -> slot function: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the key,
// or of its hash tag, modulo 16384. The hash tag is what lies between the first '{' and the
// first '}' after it, when that is not empty: "{user1000}.following" and "{user1000}.followers"
// share a slot, which is what lets one transaction touch both.
#include <cstdint>
#include <string_view>

namespace outboard::state::redis_cluster {

inline constexpr std::uint16_t kSlots = 16384;

std::uint16_t crc16(std::string_view bytes);

// The part of `key` that is hashed: its hash tag when it has one, else all of it.
std::string_view hashed_part(std::string_view key);

std::uint16_t key_slot(std::string_view key);

}  // namespace outboard::state::redis_cluster
