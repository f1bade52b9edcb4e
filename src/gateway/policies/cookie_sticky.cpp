#include "gateway/policies/cookie_sticky.hpp"

#include "gateway/policies/eligibility.hpp"

namespace outboard::gateway {

std::optional<std::size_t> CookieStickyBalancer::pick(std::span<Candidate const> candidates, RequestKey const& key,
                                                      std::span<std::size_t const> exclude) {
  auto const eligible = [&](std::size_t i) { return is_eligible(candidates, i, exclude); };
  if (!key.sticky_backend.empty()) {
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      // Ids are unique within a pool, so the first match is the only one.
      if (candidates[i].id == key.sticky_backend) {
        if (eligible(i)) return i;
        break;
      }
    }
  }
  return fallback_.pick(candidates, eligible);
}

void CookieStickyBalancer::update(std::span<Candidate const> candidates) { fallback_.reset(candidates.size()); }

}  // namespace outboard::gateway
