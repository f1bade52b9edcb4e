#pragma once
// xorshift64* (Vigna): a few cycles per number and fine for choosing backends, not for secrets
// (those come from core/random.hpp). One per balancer instance: no global RNG, and a fixed seed
// makes a test's picks repeatable.
#include <cstdint>

namespace outboard::gateway {

// splitmix64's finalizer: spreads nearby seeds (0, 1, 2 per thread) to unrelated states, and is
// the mixing step of the stable hash in maglev.cpp.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

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
