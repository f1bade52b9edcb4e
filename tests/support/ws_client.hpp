#pragma once
// A blocking WebSocket client for integration tests of GET /ws (docs/REALTIME.md): Beast's
// websocket stream driven by an event loop of its own, every wait bounded (kHttpTimeout), so a
// silent server fails the test with an exception instead of hanging it.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/http_client.hpp"

namespace outboard::testing {

class WsClient {
 public:
  // Opens GET `path` (/ws, /rooms/ID) on 127.0.0.1:port with `headers` (Cookie, Authorization,
  // Origin). Throws std::runtime_error when the upgrade is refused or nothing answers in time.
  WsClient(std::uint16_t port, HeaderList const& headers, std::string path = "/ws");
  ~WsClient();
  WsClient(WsClient const&) = delete;
  WsClient& operator=(WsClient const&) = delete;

  void send(nlohmann::json const& message) { send_text(message.dump()); }
  void send_text(std::string_view text);
  void send_binary(std::string_view bytes);

  // The next message; throws on a timeout, a close or an error.
  nlohmann::json next(std::chrono::milliseconds timeout = kHttpTimeout);
  // The next message of this type, skipping others (hello, presence...).
  nlohmann::json next_of_type(std::string_view type, std::chrono::milliseconds timeout = kHttpTimeout);
  // Reads, discarding messages, until the server closes; its close code (0 when the connection
  // ended without a close frame). Throws when still open after `timeout`. `seen`, when given,
  // receives every message read on the way.
  int wait_close(std::chrono::milliseconds timeout = kHttpTimeout, std::vector<nlohmann::json>* seen = nullptr);

 private:
  template <class Op>
  void run(Op&& start, std::chrono::milliseconds timeout);

  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
};

// The raw answer to an upgrade request that is expected to be refused (401, 403, 426...).
HttpResponse refused_upgrade(std::uint16_t port, HeaderList const& headers, std::string const& path = "/ws");

// The session cookie of `browser` as a Cookie header for WsClient.
HeaderList cookie_header(HttpClient const& browser);

}  // namespace outboard::testing
