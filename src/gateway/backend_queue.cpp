#include "gateway/backend_queue.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "gateway/backend_pool.hpp"

namespace outboard::gateway {

namespace asio = boost::asio;

asio::awaitable<BackendQueue::Outcome> BackendQueue::acquire(Backend& backend, std::int64_t limit,
                                                             std::size_t max_waiting,
                                                             std::chrono::steady_clock::time_point deadline) {
  // unordered_map keeps references to its elements valid across inserts, so `fifo` survives the
  // suspension below even while other requests add FIFOs for other backends.
  auto& fifo = waiting_[&backend];
  // Someone already waiting goes first: a newcomer takes a free slot only when nobody queues.
  if (fifo.empty() && backend.try_enter(limit)) co_return Outcome::granted;
  if (fifo.size() >= max_waiting) co_return Outcome::queue_full;

  asio::steady_timer timer(executor_);
  fifo.push_back(&timer);
  backend.queued.fetch_add(1, std::memory_order_relaxed);
  Outcome outcome = Outcome::timed_out;
  for (;;) {
    timer.expires_at(deadline);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    // Woken (the timer cancelled by wake()) or at the deadline: either way, one last try.
    if (fifo.front() == &timer && backend.try_enter(limit)) {
      outcome = Outcome::granted_after_wait;
      break;
    }
    if (!ec) break;  // the deadline passed
  }
  fifo.erase(std::find(fifo.begin(), fifo.end(), &timer));
  backend.queued.fetch_sub(1, std::memory_order_relaxed);
  // A waiter that gives up at the front may leave a free slot behind it: pass the turn on.
  if (outcome == Outcome::timed_out && !fifo.empty()) fifo.front()->cancel();
  co_return outcome;
}

void BackendQueue::wake(Backend const& backend) {
  auto it = waiting_.find(&backend);
  if (it != waiting_.end() && !it->second.empty()) it->second.front()->cancel();
}

void BackendQueue::forget_empty() {
  std::erase_if(waiting_, [](auto const& entry) { return entry.second.empty(); });
}

}  // namespace outboard::gateway
