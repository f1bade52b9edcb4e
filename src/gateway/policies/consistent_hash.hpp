#pragma once
// Policy::consistent_hash: a key (header, cookie, path or client address, extracted by the
// gateway) goes to the same backend while membership holds, through a Maglev table.
//
// The table holds every candidate with weight > 0 at update(), up or down. Health flips reach us
// without an update() (backend_pool.hpp keeps them out of the membership snapshot), so a pick
// that lands on an unavailable or already tried backend walks forward in the table (with a
// per-key step, see maglev_step) to the next acceptable one. That moves only the down backend's
// keys, spreads them over the others in proportion to their slots, and gives them back when it
// recovers, with no 128 KiB rebuild per flap.
#include <cstddef>
#include <vector>

#include "gateway/balancer.hpp"
#include "gateway/policies/maglev.hpp"
#include "gateway/policies/smooth_weighted.hpp"

namespace outboard::gateway {

class ConsistentHashBalancer final : public Balancer {
 public:
  // O(|key|), plus a walk when the hashed backend is unusable: on average 1 / (the usable
  // backends' share of slots) steps, never more than M. Requests without a key (empty
  // hash_key) take smooth weighted round robin.
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                  std::span<std::size_t const> exclude) override;
  // Rebuilds the table: O(M log M), a few milliseconds; weights are read here, not per pick.
  void update(std::span<Candidate const> candidates) override;

 private:
  std::vector<MaglevEntry> table_;  // empty when nobody had weight, or too many backends
  std::size_t built_for_ = 0;       // candidates.size() at the last update()
  SmoothWeighted fallback_;
};

}  // namespace outboard::gateway
