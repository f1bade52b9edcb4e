#pragma once
// Policy::rendezvous: a key (header, cookie, path or client address, as for consistent_hash)
// goes to the eligible backend with the highest rendezvous weight for it (core/stable_hash.hpp).
// The same function `outboard serve` uses to place a game room over its members' addresses
// (docs/ACTORS.md): with `hash_key = "path"` and the servers' listen addresses as backends, a
// room's players reach its owner directly and no server relays them. A down backend's keys move
// to their next-highest weight, the others stay. Weights are not looked at: equal shares.
#include <cstddef>

#include "gateway/balancer.hpp"
#include "gateway/policies/smooth_weighted.hpp"

namespace outboard::gateway {

class RendezvousBalancer final : public Balancer {
 public:
  // O(n) per pick (a hash per backend): for the small pools game servers come in. Requests
  // without a key take smooth weighted round robin.
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                  std::span<std::size_t const> exclude) override;
  void update(std::span<Candidate const> candidates) override { fallback_.reset(candidates.size()); }

 private:
  SmoothWeighted fallback_;
};

}  // namespace outboard::gateway
