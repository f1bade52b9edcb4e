#include "gateway/balancer.hpp"

#include <array>
#include <utility>

#include "gateway/policies/consistent_hash.hpp"
#include "gateway/policies/cookie_sticky.hpp"
#include "gateway/policies/least_outstanding.hpp"
#include "gateway/policies/power_of_two.hpp"
#include "gateway/policies/rendezvous.hpp"
#include "gateway/policies/round_robin.hpp"

namespace outboard::gateway {
namespace {

constexpr std::array<std::pair<Policy, std::string_view>, 6> kNames{{
    {Policy::round_robin, "round_robin"},
    {Policy::least_outstanding, "least_outstanding"},
    {Policy::power_of_two, "power_of_two"},
    {Policy::consistent_hash, "consistent_hash"},
    {Policy::cookie_sticky, "cookie_sticky"},
    {Policy::rendezvous, "rendezvous"},
}};

}  // namespace

std::optional<Policy> parse_policy(std::string_view name) {
  for (auto const& [policy, text] : kNames) {
    if (text == name) return policy;
  }
  return std::nullopt;
}

std::string_view to_string(Policy policy) {
  for (auto const& [p, text] : kNames) {
    if (p == policy) return text;
  }
  return "unknown";  // only for a value cast from outside the enum
}

bool uses_hash_key(Policy policy) { return policy == Policy::consistent_hash || policy == Policy::rendezvous; }

std::unique_ptr<Balancer> make_balancer(Policy policy, std::uint64_t seed) {
  switch (policy) {
    case Policy::round_robin:
      return std::make_unique<RoundRobinBalancer>();
    case Policy::least_outstanding:
      return std::make_unique<LeastOutstandingBalancer>();
    case Policy::power_of_two:
      return std::make_unique<PowerOfTwoBalancer>(seed);
    case Policy::consistent_hash:
      return std::make_unique<ConsistentHashBalancer>();
    case Policy::cookie_sticky:
      return std::make_unique<CookieStickyBalancer>();
    case Policy::rendezvous:
      return std::make_unique<RendezvousBalancer>();
  }
  // Only a value cast from outside the enum gets here. The plainest policy beats a null the
  // caller would dereference.
  return std::make_unique<RoundRobinBalancer>();
}

}  // namespace outboard::gateway
