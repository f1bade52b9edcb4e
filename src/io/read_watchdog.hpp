#pragma once
// A deadline for one read from a client, kept without the tcp_stream's own timeout: on expiry
// that closes the socket, and the 408 owed to the client could no longer be written. This timer
// cancels the read instead (operation_aborted), leaving the socket open; fired() then says the
// deadline, not the client, ended it. Scope it tightly around one co_await: the timer's handler
// touches the stream only while `done` is false, i.e. while the read is still pending.
// Cost: one timer (and one small shared state) per guarded read.
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>

namespace outboard::io {

class ReadWatchdog {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  ReadWatchdog(boost::beast::tcp_stream& stream, TimePoint until)
      : state_(std::make_shared<State>()), timer_(stream.get_executor(), until) {
    stream.expires_never();
    timer_.async_wait([state = state_, &stream](boost::beast::error_code ec) {
      if (ec || state->done) return;
      state->fired = true;
      boost::beast::error_code ignored;
      stream.socket().cancel(ignored);
    });
  }
  ~ReadWatchdog() {
    state_->done = true;
    timer_.cancel();
  }
  ReadWatchdog(ReadWatchdog const&) = delete;
  ReadWatchdog& operator=(ReadWatchdog const&) = delete;
  bool fired() const { return state_->fired; }

 private:
  struct State {
    bool done = false;
    bool fired = false;
  };
  std::shared_ptr<State> state_;
  boost::asio::steady_timer timer_;
};

}  // namespace outboard::io
