#include "core/stable_hash.hpp"

namespace outboard::core {
namespace {
constexpr std::uint64_t kRendezvousSeed = 0x72656e64657a766fULL;  // "rendezvo": fixed forever
}

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed);  // FNV-1a offset basis, seeded
  for (char ch : bytes) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;  // FNV-1a 64-bit prime
  }
  return mix64(h ^ bytes.size());
}

std::uint64_t rendezvous_weight(std::string_view member, std::string_view key) {
  // The key hashed with the member's own hash as its seed: one pass over each, and two members
  // never share a seed unless their names collide.
  return stable_hash(key, stable_hash(member, kRendezvousSeed));
}

std::size_t rendezvous_pick(std::span<std::string const> members, std::string_view key) {
  std::size_t best = 0;
  std::uint64_t best_weight = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    std::uint64_t w = rendezvous_weight(members[i], key);
    if (i == 0 || w > best_weight) {
      best = i;
      best_weight = w;
    }
  }
  return best;
}

}  // namespace outboard::core
