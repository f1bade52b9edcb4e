#pragma once
// "Truth" for one gateway: which backends exist and whether each may take traffic. Shared by
// the worker threads, the health checker and the admin API, so it is the one place with locks:
//   - membership (the list of backends) is an immutable snapshot swapped whole under a mutex;
//     a worker compares the version number (one relaxed atomic load per request) and takes a
//     new snapshot only when it changed;
//   - each backend's live state (health, ejection, draining, weight) is atomics in a Backend
//     object that every snapshot containing it shares, so health flips need no new snapshot.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace outboard::gateway {

struct BackendAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string id() const { return host + ":" + std::to_string(port); }
};

// "host:port" → address; nullopt when malformed.
std::optional<BackendAddress> parse_backend_address(std::string_view text);

// Shared (std::shared_ptr, made by BackendPool): a waiter woken on another thread keeps it alive.
class Backend : public std::enable_shared_from_this<Backend> {
 public:
  Backend(BackendAddress address, std::uint32_t weight, std::int64_t now_ms);

  BackendAddress const& address() const { return address_; }
  std::string const& id() const { return id_; }

  std::uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  void set_weight(std::uint32_t w) { weight_.store(w, std::memory_order_relaxed); }

  // Active health (from the checker): starts up, so a new backend takes traffic before its first
  // check; "rise" successes bring it back, "fall" failures take it down.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Returns true when the state changed.
  bool record_check(bool ok, int rise, int fall, std::int64_t now_ms);

  // Passive outlier ejection: consecutive connect failures or 5xx answers eject the backend for
  // a back-off that doubles each time (capped), reset by a success.
  bool ejected(std::int64_t now_ms) const { return now_ms < ejected_until_ms_.load(std::memory_order_relaxed); }
  // Returns true when this failure ejected it.
  bool record_failure(int threshold, core::Millis base, core::Millis max, std::int64_t now_ms);
  void record_success();

  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void set_draining(bool d) { draining_.store(d, std::memory_order_relaxed); }

  // Weight after slow start: ramps linearly from 1 to the full weight over `slow_start` after
  // the backend last became available.
  std::uint32_t effective_weight(std::int64_t now_ms, core::Millis slow_start) const;
  bool available(std::int64_t now_ms) const { return healthy() && !ejected(now_ms) && !draining(); }

  // A slot for one more request in flight when fewer than `limit` are (limit 0: no limit). The
  // check and the count are one compare-and-swap, so worker threads never overshoot the limit
  // together. A slot taken must be given back with leave().
  bool try_enter(std::int64_t limit) {
    if (limit <= 0) {
      in_flight.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    auto current = in_flight.load(std::memory_order_relaxed);
    while (current < limit) {
      if (in_flight.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  void leave() { in_flight.fetch_sub(1, std::memory_order_relaxed); }

  // Live counters for the admin API and metrics (all threads add to them).
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> queued{0};  // requests waiting for a slot (limits.max_in_flight_per_backend)
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> ejections{0};
  std::array<std::atomic<std::uint64_t>, 6> responses{};  // by status class: [1] 1xx .. [5] 5xx

  std::string state_name(std::int64_t now_ms) const;

 private:
  BackendAddress address_;
  std::string id_;
  std::atomic<std::uint32_t> weight_;
  std::atomic<bool> healthy_{true};
  std::atomic<int> check_streak_{0};  // >0: consecutive successes, <0: consecutive failures
  std::atomic<int> consecutive_failures_{0};
  std::atomic<int> ejection_count_{0};
  std::atomic<std::int64_t> ejected_until_ms_{0};
  std::atomic<std::int64_t> available_since_ms_;
  std::atomic<bool> draining_{false};
};

struct Membership {
  std::uint64_t version = 0;
  std::vector<std::shared_ptr<Backend>> backends;
};

class BackendPool {
 public:
  explicit BackendPool(core::Clock const& clock) : clock_(clock) {}

  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<Membership const> snapshot() const;

  // Admin and reload. add: false if the id exists. remove: false if unknown.
  bool add(BackendAddress address, std::uint32_t weight);
  bool remove(std::string const& id);
  std::shared_ptr<Backend> find(std::string const& id) const;
  // Reload: keep the backends whose id stays (with their live state), add new ones, drop the rest.
  void replace(std::vector<std::pair<BackendAddress, std::uint32_t>> const& wanted);
  // Any other membership change as one step: `change` edits a copy of the member list (with the
  // clock's now for new Backend objects) under the pool's lock, then it is published whole.
  template <class Change>
  void edit(Change change) {
    std::lock_guard lock(mutex_);
    auto backends = current_->backends;
    change(backends, clock_.now_ms());
    publish(std::move(backends));
  }

 private:
  void publish(std::vector<std::shared_ptr<Backend>> backends);  // caller holds mutex_
  core::Clock const& clock_;
  mutable std::mutex mutex_;
  std::shared_ptr<Membership const> current_ = std::make_shared<Membership>();
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace outboard::gateway
