#pragma once
// The HTTP/1.1 server shared by `outboard serve` (and later the gateway's admin listener):
// one event loop per thread, each with its own acceptor on the same port (SO_REUSEPORT), so a
// connection and everything it touches stay on one thread. Nothing on the hot path is shared
// between threads except the counter of open connections used for draining.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/message.hpp"

namespace outboard::io {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks one; port() tells which
  // Let other processes listen on the same port too (SO_REUSEPORT across processes, for seamless
  // restarts). Off: a port another process holds is an error (io/listener.hpp).
  bool reuse_port = false;
  int threads = 1;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;  // the whole head (431)
  std::size_t max_header_fields = 100;      // field lines in the head (431)
  std::size_t max_target_bytes = 8 << 10;   // the request-target (414)
  core::Millis read_timeout{30'000};  // a whole request must arrive within this (slowloris)
  core::Millis idle_timeout{60'000};  // a keep-alive connection with no request is closed
};

// A request body the handler pulls piece by piece (uploads), so it is never held whole.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // The next piece; an empty string at the end. Errc::too_large past the route's limit,
  // Errc::invalid when the client breaks off or sends malformed chunking, Errc::timeout when it
  // stalls past the read timeout.
  virtual boost::asio::awaitable<core::Result<std::string>> read() = 0;
};

// A connection a handler takes over after its request (a WebSocket upgrade): the socket and
// whatever the client sent after the request, already read into the buffer. The bare socket, not
// a beast::tcp_stream: a moved-from tcp_stream keeps a whole implementation (its timers) alive,
// and every frame a taken connection passes through lives as long as the connection.
struct TakenConnection {
  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
};
// Runs a taken-over connection to its end, on the connection's thread; the connection still
// counts as open for draining until it returns.
using Takeover = std::function<boost::asio::awaitable<void>(TakenConnection)>;

// What the server knows of the connection a request came on.
struct ConnectionInfo {
  std::optional<boost::asio::ip::address> peer;  // the remote address; nullopt if the socket could not say
  // Where a handler puts a Takeover: when it is set and the response is a 101, the server does
  // not write the response but hands the connection to it (the takeover writes its own 101).
  Takeover* takeover = nullptr;
};

// What the server calls for each request, on the connection's own thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // After the header arrived: a limit when this request's body should be streamed to the
  // handler rather than read whole first (and limited by max_body_bytes). Default: read whole.
  virtual std::optional<std::size_t> stream_limit(boost::beast::http::request_header<> const& header) {
    (void)header;
    return std::nullopt;
  }
  // `body` is null when the body was read whole into request.body(); otherwise request.body()
  // is empty and the handler reads the body from `body` (valid until the handler returns).
  // `connection` says who sent it (the direct peer: a proxy in front decides what that means).
  virtual boost::asio::awaitable<http::Response> handle(http::Request request, BodyStream* body,
                                                        ConnectionInfo connection) = 0;
  // Lets the application stamp headers (X-Served-By) on the errors the server answers itself
  // (400, 408, 413, 431) before any handler ran.
  virtual void decorate(http::Response& response) { (void)response; }
  // A request refused before any handler ran; `header` holds what was read of it (possibly
  // nothing), `connection` who sent it. Default: decorate only.
  virtual void rejected(http::Request const& header, http::Response& response, ConnectionInfo const& connection) {
    (void)header;
    (void)connection;
    decorate(response);
  }
  // A request refused by a rule of the strict HTTP layer (http/strict.hpp): `rule` is its stable
  // id (docs/HTTP.md), also the "error" of the JSON answer, for access logs and counters.
  // `header` is empty when the head itself was refused (nothing of it was parsed).
  // Default: rejected().
  virtual void refused(http::Request const& header, http::Response& response, std::string_view rule,
                       ConnectionInfo const& connection) {
    (void)rule;
    rejected(header, response, connection);
  }
};

class HttpServer;
// Called once on each worker thread, on that thread, before it accepts: the per-thread handler
// (and through it the per-thread store connections).
using HandlerFactory =
    std::function<std::shared_ptr<RequestHandler>(boost::asio::any_io_executor, HttpServer const&)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, HandlerFactory factory);
  ~HttpServer();
  HttpServer(HttpServer const&) = delete;
  HttpServer& operator=(HttpServer const&) = delete;

  // Binds and starts the worker threads. Throws std::runtime_error naming the address on failure.
  void start();
  std::uint16_t port() const { return port_; }

  // True from the moment drain() starts: /readyz answers false, responses close the connection.
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // Graceful stop: close the listeners, close idle keep-alive connections, let requests in
  // flight finish and their connections close, up to `deadline`. Returns true if everything
  // finished in time. Then stops the threads. Call from a non-worker thread.
  bool drain(core::Millis deadline);
  // Immediate stop (after drain, or on a fatal error).
  void stop();

  int open_connections() const { return open_connections_.load(); }

 private:
  struct Worker;
  ServerOptions options_;
  HandlerFactory factory_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<int> open_connections_{0};
  friend struct ConnectionServer;
};

}  // namespace outboard::io
