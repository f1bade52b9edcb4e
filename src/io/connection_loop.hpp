#pragma once
// The parts of a client connection's life that `outboard serve` (io::HttpServer) and `outboard
// gateway` (gateway::ProxyServer) share, so the two servers keep one copy: the accept loop, the
// wait for the next request on a keep-alive connection (which a drain cuts short), the answer owed
// for a request that could not be read, and a close that does not destroy the last answer.
// Everything here runs on one worker thread's event loop.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>

#include "core/clock.hpp"
#include "http/message.hpp"

namespace outboard::io {

class IdleConnections;

// One deadline per connection, for the waits that may end it (the wait for the next request,
// the request's head): one timer per connection, armed lazily. arm() only stores a time; the
// timer, when it fires before that time, re-arms itself for it, so a busy keep-alive connection
// costs no timer call per request (the timer fires about once per timeout period). Expiry
// cancels the socket's pending operations (operation_aborted) and leaves it open, so a 408 can
// still be written; expired() tells the deadline, not the peer, ended the operation.
// Cost: one small shared state and one timer per connection, made when it opens.
class ConnectionDeadline {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit ConnectionDeadline(boost::asio::ip::tcp::socket& socket);
  ~ConnectionDeadline();
  ConnectionDeadline(ConnectionDeadline const&) = delete;
  ConnectionDeadline& operator=(ConnectionDeadline const&) = delete;

  // Guards what the connection awaits from now until `until` (replacing the previous deadline).
  void arm(TimePoint until);
  // Nothing is guarded any more: an expiry now does nothing.
  void disarm();
  // The last armed deadline passed (and cancelled the socket's operations).
  bool expired() const;

 private:
  friend class IdleConnections;
  struct State;
  static void wait(std::shared_ptr<State> const& state);
  std::shared_ptr<State> state_;
};

// A worker thread's keep-alive connections between two requests. Used on that thread only.
class IdleConnections {
 public:
  IdleConnections();
  ~IdleConnections();
  IdleConnections(IdleConnections const&) = delete;
  IdleConnections& operator=(IdleConnections const&) = delete;
  bool draining() const { return draining_; }
  // A drain began: no connection waits for another request, and the waiting ones end now.
  void drain();
  // Waits until the client sends something (true: it is in `buffer`), or `until` passes, the
  // connection breaks or a drain begins (false: close the connection). A read, not a wait for
  // readability: Asio re-arms epoll (epoll_ctl) for every async_wait, and the bytes are
  // needed next anyway.
  boost::asio::awaitable<bool> wait_for_request(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                                                ConnectionDeadline& deadline, ConnectionDeadline::TimePoint until);

 private:
  bool draining_ = false;
  // The waiting connections: an intrusive list through their deadlines' states (no allocation
  // per request); `waiting_` is its head sentinel.
  std::unique_ptr<ConnectionDeadline::State> waiting_;
};

// Accepts on `acceptor` until it is closed (a drain closes it). Each connection, with TCP_NODELAY
// set, goes to `on_accept(socket)`, which spawns its coroutine. A failed accept (EMFILE and
// friends) pauses 50 ms instead of spinning.
template <class OnAccept>
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, OnAccept on_accept) {
  namespace asio = boost::asio;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    on_accept(std::move(socket));
  }
}

// The answer to a request whose head or body could not be read (408, 413, 431, 400), or nothing
// when the peer just went away (EOF, reset, cancelled). `Connection: close`: the connection ends.
std::optional<http::Response> read_error_response(boost::beast::error_code ec);

// Half-closes, then discards what the client already sent and we never read: closing a socket
// with unread bytes sends a reset, which can destroy our last answer in the client's buffers
// before it reads it. Only what has arrived is read (no waiting), at most 64 KiB.
void close_gently(boost::asio::ip::tcp::socket& socket);

}  // namespace outboard::io
