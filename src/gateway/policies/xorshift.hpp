#pragma once
// xorshift64* (Vigna): a few cycles per number and fine for choosing backends, not for secrets
// (those come from core/random.hpp). One per balancer instance: no global RNG, and a fixed seed
// makes a test's picks repeatable.
#include <cstdint>

#include "core/stable_hash.hpp"

namespace outboard::gateway {

using core::mix64;  // core/stable_hash.hpp: spreads nearby seeds to unrelated states

class XorShift64Star {
 public:
  explicit XorShift64Star(std::uint64_t seed) : state_(mix64(seed + 0x9e3779b97f4a7c15ULL)) {
    if (state_ == 0) state_ = 0x9e3779b97f4a7c15ULL;  // zero is the one state xorshift never leaves
  }

  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }

  // Uniform in [0, bound), bound > 0. Plain modulo: its bias is at most bound / 2^64, far below
  // anything a load spread could show.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

 private:
  std::uint64_t state_;
};

}  // namespace outboard::gateway
