#pragma once
// One message at a time per room: an asynchronous lock for coroutines of ONE thread (the actor
// host's). A turn that awaits the store (a journal append, a lease renewal) keeps the room to
// itself; the others wait in order of arrival.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>

#include "core/use_nothrow.hpp"

namespace outboard::actors {

class TurnLock {
 public:
  explicit TurnLock(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // Held until the Turn is destroyed.
  class Turn {
   public:
    explicit Turn(TurnLock* lock) : lock_(lock) {}
    Turn(Turn&& other) noexcept : lock_(std::exchange(other.lock_, nullptr)) {}
    Turn(Turn const&) = delete;
    Turn& operator=(Turn const&) = delete;
    Turn& operator=(Turn&&) = delete;
    ~Turn() {
      if (lock_) lock_->release();
    }

   private:
    TurnLock* lock_;
  };

  boost::asio::awaitable<Turn> take() {
    if (!held_) {
      held_ = true;
      co_return Turn(this);
    }
    auto wake = std::make_shared<boost::asio::steady_timer>(executor_, boost::asio::steady_timer::time_point::max());
    waiters_.push_back(wake);
    auto [ec] = co_await wake->async_wait(core::use_nothrow);
    (void)ec;  // cancelled: release() handed us the turn
    co_return Turn(this);
  }

 private:
  void release() {
    if (waiters_.empty()) {
      held_ = false;
      return;
    }
    auto next = std::move(waiters_.front());  // the turn passes on: held_ stays true
    waiters_.pop_front();
    next->cancel();
  }

  boost::asio::any_io_executor executor_;
  bool held_ = false;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace outboard::actors
