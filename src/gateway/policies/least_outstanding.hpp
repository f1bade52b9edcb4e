#pragma once
// Policy::least_outstanding: the eligible candidate with the fewest requests in flight per unit of
// weight. Ties go to smooth weighted round robin among the tied, so idle equal backends take turns
// and, when everything is idle (all at zero), weights still decide the share.
#include "gateway/balancer.hpp"
#include "gateway/policies/smooth_weighted.hpp"

namespace outboard::gateway {

class LeastOutstandingBalancer final : public Balancer {
 public:
  // O(n) per pick (two passes), no allocation after the first.
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                  std::span<std::size_t const> exclude) override;
  void update(std::span<Candidate const> candidates) override;

 private:
  SmoothWeighted tie_break_;
};

}  // namespace outboard::gateway
