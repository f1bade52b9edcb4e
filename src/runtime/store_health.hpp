#pragma once
// Whether a store answers, as every worker thread of one service sees it, so that losing it and
// getting it back are logged once each (with the address, for the operator) instead of once per
// request. One per store URL per Service, shared by the threads (an atomic); each thread's store
// handle keeps its own view in a plain bool that only that thread touches.
//
// The rule: a handle that had answered and now fails with unavailable/timeout marks the store
// lost; the first such handle logs it. A handle that had failed and now answers marks it back;
// the first such handle logs it. A handle still failing after another one logged the store back
// (its own reconnect is still in backoff) changes nothing: it had failed already. A handle that
// never saw the outage and fails after the store was logged back logs a new loss: rare, and true.
#include <atomic>
#include <string>

#include "core/error.hpp"

namespace outboard::runtime {

class StoreHealth {
 public:
  // `label`: what the log calls the store ("sessions and data store (redis 10.0.0.5:6379/0)").
  // `shared`: a network store every server uses (redis); its outage is not this server's fault,
  // which readiness takes into account (see Service, /readyz).
  StoreHealth(std::string label, bool shared) : label_(std::move(label)), shared_(shared) {}

  enum class Change { none, lost, regained };
  // One operation's outcome on a handle whose view is `seen_up` (updated). `error` is null when
  // the store answered; only unavailable and timeout mean it did not. Logs a change.
  Change observe(bool& seen_up, core::Error const* error);

  bool reachable() const { return up_.load(std::memory_order_relaxed); }
  bool shared() const { return shared_; }
  std::string const& label() const { return label_; }

 private:
  std::string label_;
  bool shared_;
  std::atomic<bool> up_{true};
};

// Where a store URL points, for logs, without its password: "redis 10.0.0.5:6379/0",
// "sqlite outboard-data/state.db", "memory".
std::string store_location(std::string const& url);

}  // namespace outboard::runtime
