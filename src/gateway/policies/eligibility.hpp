#pragma once
// The one rule every policy shares: which candidates may be picked at all.
#include <algorithm>
#include <cstddef>
#include <span>

#include "gateway/balancer.hpp"

namespace outboard::gateway {

// Weight 0, unavailable, or already tried for this request (a retry goes elsewhere).
// O(|exclude|): retries are few, so a linear scan beats building a set per pick.
inline bool is_eligible(std::span<Candidate const> candidates, std::size_t index,
                        std::span<std::size_t const> exclude) {
  Candidate const& c = candidates[index];
  return c.weight > 0 && c.available && std::find(exclude.begin(), exclude.end(), index) == exclude.end();
}

inline bool any_eligible(std::span<Candidate const> candidates, std::span<std::size_t const> exclude) {
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (is_eligible(candidates, i, exclude)) return true;
  }
  return false;
}

}  // namespace outboard::gateway
