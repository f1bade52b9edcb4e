#pragma once
// Smooth weighted round robin, the way NGINX does it: every pick adds each participant's weight
// to its running `current`, takes the largest, and takes the round's total weight off the winner.
// Over any window of sum(weights) picks each backend gets exactly its weight's share, and picks of
// a heavy backend are spread out (5,1,1 gives a a b a c a a, never a burst of five).
//
// A building block, not a Balancer: round_robin, least_outstanding (among the tied), consistent
// hash (empty key) and cookie stickiness (no usable cookie) all use one. Not thread safe; each
// worker thread owns its balancers.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "gateway/balancer.hpp"

namespace outboard::gateway {

class SmoothWeighted {
 public:
  // Picks among the candidates with weight > 0 for which accept(index) is true. Non-participants
  // keep their `current` (as NGINX skips a down peer), so a backend coming back is not flooded.
  // O(n). When the number of candidates differs from the last call, the state restarts at zero:
  // the indices no longer name the same backends, so the old credits mean nothing.
  template <class Accept>
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, Accept accept) {
    if (current_.size() != candidates.size()) current_.assign(candidates.size(), 0);
    std::int64_t total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].weight == 0 || !accept(i)) continue;
      current_[i] += candidates[i].weight;
      total += candidates[i].weight;
      // Strictly greater: the first of equal credits wins, which makes equal weights plain
      // round robin in candidate order.
      if (!best || current_[i] > current_[*best]) best = i;
    }
    if (best) current_[*best] -= total;
    return best;
  }

  // Membership changed: forget the credits.
  void reset(std::size_t size) { current_.assign(size, 0); }

 private:
  // Indexed like the candidates. Each pick adds and takes off the same total, so the credits
  // always sum to zero; each stays under n × max weight (also in randomized runs with shifting
  // participant sets), far inside int64 for uint32 weights.
  std::vector<std::int64_t> current_;
};

}  // namespace outboard::gateway
