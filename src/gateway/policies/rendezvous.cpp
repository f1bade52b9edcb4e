#include "gateway/policies/rendezvous.hpp"

#include "core/stable_hash.hpp"
#include "gateway/policies/eligibility.hpp"

namespace outboard::gateway {

std::optional<std::size_t> RendezvousBalancer::pick(std::span<Candidate const> candidates, RequestKey const& key,
                                                    std::span<std::size_t const> exclude) {
  auto const eligible = [&](std::size_t i) { return is_eligible(candidates, i, exclude); };
  if (key.hash_key.empty()) return fallback_.pick(candidates, eligible);
  std::optional<std::size_t> best;
  std::uint64_t best_weight = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!eligible(i)) continue;
    std::uint64_t w = core::rendezvous_weight(candidates[i].id, key.hash_key);
    if (!best || w > best_weight) {
      best = i;
      best_weight = w;
    }
  }
  return best;
}

}  // namespace outboard::gateway
