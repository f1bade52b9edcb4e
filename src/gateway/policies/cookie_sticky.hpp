#pragma once
// Policy::cookie_sticky: the backend the client's cookie names, while it is eligible; otherwise
// smooth weighted round robin, and the gateway rewrites the cookie to the new choice.
#include "gateway/balancer.hpp"
#include "gateway/policies/smooth_weighted.hpp"

namespace outboard::gateway {

class CookieStickyBalancer final : public Balancer {
 public:
  // O(n) id comparisons to find the named backend: pools are small, and a linear scan needs no
  // index that could go stale between update() calls.
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                  std::span<std::size_t const> exclude) override;
  void update(std::span<Candidate const> candidates) override;

 private:
  SmoothWeighted fallback_;
};

}  // namespace outboard::gateway
