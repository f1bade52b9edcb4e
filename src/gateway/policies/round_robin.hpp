#pragma once
// Policy::round_robin: smooth weighted round robin over the eligible candidates.
#include "gateway/balancer.hpp"
#include "gateway/policies/smooth_weighted.hpp"

namespace outboard::gateway {

class RoundRobinBalancer final : public Balancer {
 public:
  // O(n) per pick, no allocation after the first.
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                  std::span<std::size_t const> exclude) override;
  void update(std::span<Candidate const> candidates) override;

 private:
  SmoothWeighted rotation_;
};

}  // namespace outboard::gateway
