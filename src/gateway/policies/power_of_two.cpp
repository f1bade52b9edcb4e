#include "gateway/policies/power_of_two.hpp"

#include <limits>

#include "gateway/policies/eligibility.hpp"
#include "gateway/policies/load.hpp"

namespace outboard::gateway {

std::optional<std::size_t> PowerOfTwoBalancer::pick(std::span<Candidate const> candidates, RequestKey const&,
                                                    std::span<std::size_t const> exclude) {
  eligible_.clear();
  std::uint64_t total = 0;  // n × uint32: no overflow
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!is_eligible(candidates, i, exclude)) continue;
    eligible_.push_back(i);
    total += candidates[i].weight;
  }
  if (eligible_.empty()) return std::nullopt;
  if (eligible_.size() == 1) return eligible_.front();

  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::size_t const first = draw(candidates, total, kNone);
  std::size_t const second = draw(candidates, total - candidates[eligible_[first]].weight, first);
  Candidate const& a = candidates[eligible_[first]];
  Candidate const& b = candidates[eligible_[second]];
  // On equal load the first draw wins; it is as random as the second.
  return less_loaded(b, a) ? eligible_[second] : eligible_[first];
}

std::size_t PowerOfTwoBalancer::draw(std::span<Candidate const> candidates, std::uint64_t total_weight,
                                     std::size_t skip) {
  std::uint64_t ticket = random_.below(total_weight);
  for (std::size_t k = 0; k < eligible_.size(); ++k) {
    if (k == skip) continue;
    std::uint32_t const weight = candidates[eligible_[k]].weight;
    if (ticket < weight) return k;
    ticket -= weight;
  }
  // Unreachable: the weights of all but `skip` sum to total_weight > ticket. Returning the last
  // non-skipped entry keeps even a wrong total in bounds.
  return eligible_.size() - 1 == skip ? eligible_.size() - 2 : eligible_.size() - 1;
}

void PowerOfTwoBalancer::update(std::span<Candidate const>) {}

}  // namespace outboard::gateway
