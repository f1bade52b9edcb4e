#pragma once
// Policy::power_of_two ("power of two choices", Mitzenmacher): draw two distinct eligible
// candidates at random, in proportion to weight, and take the less loaded (outstanding / weight).
// Nearly as good as least_outstanding at spreading load, without every thread herding onto the
// same momentarily idle backend.
#include <cstdint>
#include <vector>

#include "gateway/balancer.hpp"
#include "gateway/policies/xorshift.hpp"

namespace outboard::gateway {

class PowerOfTwoBalancer final : public Balancer {
 public:
  explicit PowerOfTwoBalancer(std::uint64_t seed) : random_(seed) {}

  // O(n) per pick: one pass to list the eligible, two weighted draws over that list. No
  // allocation once the scratch list has grown to the pool size.
  std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                  std::span<std::size_t const> exclude) override;
  void update(std::span<Candidate const> candidates) override;

 private:
  // An index into eligible_, drawn with probability weight / total_weight, never `skip`.
  std::size_t draw(std::span<Candidate const> candidates, std::uint64_t total_weight, std::size_t skip);

  XorShift64Star random_;
  std::vector<std::size_t> eligible_;  // scratch, reused between picks
};

}  // namespace outboard::gateway
