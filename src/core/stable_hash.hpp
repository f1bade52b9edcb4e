#pragma once
// Hashes that are the same in every process, build and platform (std::hash is not), for the
// placements two processes must agree on without talking: the gateway's Maglev table and its
// rendezvous policy, and which server owns a game room (src/actors).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace outboard::core {

// splitmix64's finalizer: every input bit reaches every output bit. Spreads nearby seeds (0, 1,
// 2 per thread) to unrelated states.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// FNV-1a over the bytes, seeded, then mix64 (FNV-1a alone mixes its last bytes poorly, and
// "10.0.0.1:80" vs ":81" differ only there). Fixed forever: changing it moves every key.
std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed = 0);

// Rendezvous (highest random weight) hashing: the weight of `member` for `key`. The member with
// the highest weight owns the key. When a member joins, it takes exactly the keys it now weighs
// most for (about 1/n of them) and no other key moves; when one leaves, only its keys move.
std::uint64_t rendezvous_weight(std::string_view member, std::string_view key);

// The index in `members` of the one that owns `key`: the highest weight, ties to the lower index.
// `members` must not be empty.
std::size_t rendezvous_pick(std::span<std::string const> members, std::string_view key);

}  // namespace outboard::core
