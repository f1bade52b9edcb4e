#pragma once
// HAProxy's server maxconn and queue: at most `limit` requests in flight on one backend (counted
// across every worker thread in Backend::in_flight); a request beyond it waits in a FIFO of this
// worker thread, at most `max_waiting` long, until a slot frees or its deadline (timeouts.queue_ms,
// capped by the total deadline) passes. The queue is per worker thread: waiters are woken in
// order within a thread, and a slot freed on another thread wakes each thread's first waiter
// (ProxyServer posts wake() to them), whoever takes it first wins.
//
// Owned by one worker; every call on that worker's thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace outboard::gateway {

class Backend;

class BackendQueue {
 public:
  enum class Outcome { granted, granted_after_wait, queue_full, timed_out };

  explicit BackendQueue(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // On `granted` (at once) or `granted_after_wait` the caller holds one of the backend's slots (in_flight counted) and must give it
  // back with Backend::leave(). limit 0: no limit, granted at once.
  boost::asio::awaitable<Outcome> acquire(Backend& backend, std::int64_t limit, std::size_t max_waiting,
                                          std::chrono::steady_clock::time_point deadline);
  // A slot on `backend` was freed: the first waiter (if any) tries again.
  void wake(Backend const& backend);
  // Forgets the empty FIFOs of backends that left (called when the membership changes).
  void forget_empty();

 private:
  boost::asio::any_io_executor executor_;
  std::unordered_map<Backend const*, std::deque<boost::asio::steady_timer*>> waiting_;
};

}  // namespace outboard::gateway
