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
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <unordered_set>

#include "core/clock.hpp"
#include "http/message.hpp"

namespace outboard::io {

// A worker thread's keep-alive connections between two requests. Used on that thread only.
class IdleConnections {
 public:
  bool draining() const { return draining_; }
  // A drain began: no connection waits for another request, and the waiting ones end now.
  void drain();
  // Waits until the client sends something (true), or `wait` passes, the connection breaks or a
  // drain begins (false: close the connection).
  boost::asio::awaitable<bool> wait_for_request(boost::asio::ip::tcp::socket& socket, core::Millis wait);

 private:
  bool draining_ = false;
  std::unordered_set<boost::asio::ip::tcp::socket*> waiting_;
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
