#pragma once
// Comparing load between backends of different weight, shared by least_outstanding and
// power_of_two.
#include <cstdint>

#include "gateway/balancer.hpp"

namespace outboard::gateway {

// a.outstanding / a.weight < b.outstanding / b.weight, cross-multiplied: exact, no division, and
// a uint32 × uint32 product cannot overflow uint64. Both weights must be > 0.
inline bool less_loaded(Candidate const& a, Candidate const& b) {
  return std::uint64_t{a.outstanding} * b.weight < std::uint64_t{b.outstanding} * a.weight;
}

inline bool equally_loaded(Candidate const& a, Candidate const& b) {
  return std::uint64_t{a.outstanding} * b.weight == std::uint64_t{b.outstanding} * a.weight;
}

}  // namespace outboard::gateway
