#include "gateway/policies/least_outstanding.hpp"

#include "gateway/policies/eligibility.hpp"
#include "gateway/policies/load.hpp"

namespace outboard::gateway {

std::optional<std::size_t> LeastOutstandingBalancer::pick(std::span<Candidate const> candidates, RequestKey const&,
                                                          std::span<std::size_t const> exclude) {
  std::optional<std::size_t> least;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!is_eligible(candidates, i, exclude)) continue;
    if (!least || less_loaded(candidates[i], candidates[*least])) least = i;
  }
  if (!least) return std::nullopt;
  Candidate const& floor = candidates[*least];
  return tie_break_.pick(candidates, [&](std::size_t i) {
    return is_eligible(candidates, i, exclude) && equally_loaded(candidates[i], floor);
  });
}

void LeastOutstandingBalancer::update(std::span<Candidate const> candidates) {
  tie_break_.reset(candidates.size());
}

}  // namespace outboard::gateway
