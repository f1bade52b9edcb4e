#pragma once
// One chat user's WebSocket to the gateway (`GET /ws`, docs/REALTIME.md), on the lab's one event
// loop. A thin shell over Beast: the upgrade with the user's credential headers, one text frame
// read or written at a time, and how the connection ended. One read and one write may be in
// flight at once (Beast allows it: the chat user reads in one coroutine and writes in another).
//
// The WebSocket's own timeouts stand guard: the upgrade must finish within its timeout, and a
// connection on which nothing arrives for kIdle is pinged, then dropped, so a frozen server
// cannot hold a user forever.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace outboard::lab {

using Headers = std::vector<std::pair<std::string, std::string>>;

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
};

class ChatClient {
 public:
  explicit ChatClient(boost::asio::any_io_executor executor);

  // Connects to 127.0.0.1:port and upgrades `GET /ws` with these headers (Cookie or
  // Authorization). Never throws for network trouble.
  boost::asio::awaitable<Upgrade> open(std::uint16_t port, Headers headers, std::chrono::milliseconds timeout);
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

}  // namespace outboard::lab
