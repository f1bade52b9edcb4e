#pragma once
// One user's WebSocket to the gateway (`GET /ws` for chat, docs/REALTIME.md; `GET /rooms/{id}` for
// a game player, docs/ACTORS.md), on the lab's one event loop. A thin shell over Beast: the upgrade with the user's credential headers, one text frame
// read or written at a time, and how the connection ended. One read and one write may be in
// flight at once (Beast allows it: the chat user reads in one coroutine and writes in another).
//
// The WebSocket's own timeouts stand guard: the upgrade must finish within its timeout, and a
// connection on which nothing arrives for kIdle is pinged, then dropped, so a frozen server
// cannot hold a user forever.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outboard::lab {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The credential headers of a logged-in user, logging in (or refreshing a token) first when
// needed; `refused`: the last upgrade was answered 401, so the login is gone (counted by the
// caller as any 401 on a live login is). nullopt: no login could be had now (try again later).
// Chat users and game players both get theirs from their VirtualUser (VirtualUser::chat_login).
using ChatLogin = std::function<boost::asio::awaitable<std::optional<Headers>>(bool refused)>;

struct Upgrade {
  bool ok = false;
  int status = 0;      // the HTTP status of a refused upgrade (0: no answer at all)
  std::string error;   // what went wrong, for a refused or failed one
  bool connection_refused = false;  // nobody listens on the port (the gateway is gone)
};

// One frame read, or how the connection ended.
struct Frame {
  bool ok = false;
  std::string text;
  int close_code = 0;  // the peer's close frame code (1001, ...); 0 when the connection just dropped
  std::string error;
  // For a connection that ended: the close code ("1001"), "timeout" (nothing came, not even a
  // pong), or "dropped".
  std::string end_reason() const;
};

class ChatClient {
 public:
  explicit ChatClient(boost::asio::any_io_executor executor);

  // Connects to 127.0.0.1:port and upgrades `GET path` with these headers (Cookie or
  // Authorization). Never throws for network trouble.
  boost::asio::awaitable<Upgrade> open(std::uint16_t port, Headers headers, std::chrono::milliseconds timeout,
                                       std::string path = "/ws");
  boost::asio::awaitable<Frame> read();
  // False when the connection is gone.
  boost::asio::awaitable<bool> write(std::string text);
  // A close frame (1000), then the socket is closed whatever the peer does.
  boost::asio::awaitable<void> close();
  // Closes the socket now: a pending read ends.
  void drop();

 private:
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
};

class RunStats;

// A user's way to its WebSockets through the gateways (chat users and game players): user i starts
// on gateway i % N and moves to the next when its own refuses the connection (it died), as the
// shop journey's users do; each try logs in first (again, after a 401).
class GatewayDialer {
 public:
  // The ports are read when needed: the lab fills them once its cluster is up.
  GatewayDialer(int user, std::uint16_t const& gateway_port, std::vector<std::uint16_t> const& gateway_ports,
                ChatLogin login, RunStats& stats);

  // One try: the login, then the upgrade of `GET path` on the user's gateway. A failure is a failed
  // attempt like any other request's (the table's failure rows); a 4xx other than 401 is an
  // answer nobody can explain, named by `what` ("GET /ws"). False when it failed (or no login
  // could be had).
  boost::asio::awaitable<bool> open(ChatClient& client, std::string path, std::string what,
                                    std::chrono::milliseconds timeout);
  // Tries, a backoff() apart, until a `Connection` (a struct with a ChatClient `client`, made from
  // the executor) is open, or keep_trying() says no more (then null).
  template <typename Connection, typename KeepTrying, typename Backoff>
  boost::asio::awaitable<std::shared_ptr<Connection>> dial(boost::asio::any_io_executor executor, std::string path,
                                                           std::string what, std::chrono::milliseconds timeout,
                                                           KeepTrying keep_trying, Backoff backoff);
  // Moves to the next gateway (when there are several).
  void next_gateway();

 private:
  void record_failure(Upgrade const& up, std::string const& what);

  int user_;
  std::uint16_t const& gateway_port_;
  std::vector<std::uint16_t> const& gateway_ports_;
  std::size_t gateway_;
  ChatLogin login_;
  RunStats& stats_;
  bool refused_ = false;  // the last try was answered 401: the next one logs in again
};

template <typename Connection, typename KeepTrying, typename Backoff>
boost::asio::awaitable<std::shared_ptr<Connection>> GatewayDialer::dial(boost::asio::any_io_executor executor,
                                                                        std::string path, std::string what,
                                                                        std::chrono::milliseconds timeout,
                                                                        KeepTrying keep_trying, Backoff backoff) {
  while (keep_trying()) {
    auto conn = std::make_shared<Connection>(executor);
    if (co_await open(conn->client, path, what, timeout)) co_return conn;
    boost::asio::steady_timer pause(executor, backoff());
    co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  co_return nullptr;
}

}  // namespace outboard::lab
