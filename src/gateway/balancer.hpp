#pragma once
// Backend selection: pure logic, no sockets, no clocks of its own (after Pingora's
// BackendSelection). Each worker thread owns its balancer objects; the gateway rebuilds them
// when membership or weights change. Tested with plain values in tests/unit/gateway/.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::gateway {

// What a balancer may know about one backend at the moment of a pick.
struct Candidate {
  std::string id;                 // stable identity: "host:port"
  std::uint32_t weight = 1;       // effective weight (slow start already applied); 0 = never pick
  std::uint32_t outstanding = 0;  // requests in flight to it from this thread
  bool available = true;          // up, not ejected, not draining
};

// What a balancer may know about the request.
struct RequestKey {
  // For consistent hashing: the value of the configured key (header, cookie, path or client
  // address), already extracted; empty when the request has none.
  std::string_view hash_key;
  // For cookie stickiness: the backend id the client's cookie names, if any.
  std::string_view sticky_backend;
};

enum class Policy { round_robin, least_outstanding, power_of_two, consistent_hash, cookie_sticky, rendezvous };

// "round_robin", "least_outstanding", "power_of_two", "consistent_hash", "cookie_sticky", "rendezvous".
std::optional<Policy> parse_policy(std::string_view name);
std::string_view to_string(Policy policy);
// Whether the policy picks by the request's hash key (pool.hash_key): consistent_hash, rendezvous.
bool uses_hash_key(Policy policy);

class Balancer {
 public:
  virtual ~Balancer() = default;
  // The index (into `candidates`) of the backend to use, or nullopt when none is available.
  // `exclude` lists indices already tried for this request (retries go elsewhere).
  // Candidates keep their order between calls unless membership changed (then the gateway makes
  // a new balancer with update()).
  virtual std::optional<std::size_t> pick(std::span<Candidate const> candidates, RequestKey const& key,
                                          std::span<std::size_t const> exclude) = 0;
  // Membership or weights changed: rebuild internal tables (e.g. the Maglev table).
  virtual void update(std::span<Candidate const> candidates) = 0;
};

// `seed` feeds the randomness of power_of_two (a per-thread xorshift, no global RNG).
std::unique_ptr<Balancer> make_balancer(Policy policy, std::uint64_t seed);

}  // namespace outboard::gateway
