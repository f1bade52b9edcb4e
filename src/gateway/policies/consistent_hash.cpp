#include "gateway/policies/consistent_hash.hpp"

#include "gateway/policies/eligibility.hpp"

namespace outboard::gateway {

std::optional<std::size_t> ConsistentHashBalancer::pick(std::span<Candidate const> candidates,
                                                        RequestKey const& key,
                                                        std::span<std::size_t const> exclude) {
  auto const eligible = [&](std::size_t i) { return is_eligible(candidates, i, exclude); };
  if (key.hash_key.empty()) return fallback_.pick(candidates, eligible);
  // The gateway calls update() on every membership change; a size mismatch means it did not, and
  // old indices could point past the span. Rebuilding keeps the pick correct at a rebuild's cost.
  if (candidates.size() != built_for_) update(candidates);
  if (table_.empty() || !any_eligible(candidates, exclude)) return fallback_.pick(candidates, eligible);

  std::size_t const size = table_.size();
  std::size_t slot = maglev_slot(key.hash_key, size);
  std::size_t const home = table_[slot];
  if (home < candidates.size() && eligible(home)) return home;
  // Unusable (down, or tried by this request): walk on with this key's own step, which visits
  // every slot once in M steps (see maglev_step). Only the unusable backend's keys move.
  std::size_t const step = maglev_step(key.hash_key, size);
  for (std::size_t steps = 1; steps < size; ++steps) {
    slot = (slot + step) % size;  // both < M = 65537: no overflow
    std::size_t const index = table_[slot];
    if (index < candidates.size() && eligible(index)) return index;
  }
  // Someone is eligible but holds no slot (its weight was 0 at the last update()).
  return fallback_.pick(candidates, eligible);
}

void ConsistentHashBalancer::update(std::span<Candidate const> candidates) {
  table_ = build_maglev_table(candidates);
  built_for_ = candidates.size();
  fallback_.reset(candidates.size());
}

}  // namespace outboard::gateway
