#include "gateway/policies/round_robin.hpp"

#include "gateway/policies/eligibility.hpp"

namespace outboard::gateway {

std::optional<std::size_t> RoundRobinBalancer::pick(std::span<Candidate const> candidates, RequestKey const&,
                                                    std::span<std::size_t const> exclude) {
  return rotation_.pick(candidates, [&](std::size_t i) { return is_eligible(candidates, i, exclude); });
}

void RoundRobinBalancer::update(std::span<Candidate const> candidates) { rotation_.reset(candidates.size()); }

}  // namespace outboard::gateway
