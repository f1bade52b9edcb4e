#pragma once
// The server side of a WebSocket upgrade a handler took over (io::TakenConnection): the options
// every server WebSocket of ours shares, and the accept, with the bytes the HTTP server already
// read past the request. Used by GET /ws (realtime) and GET /rooms/{id} (actors).
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstddef>
#include <string>

#include "http/message.hpp"

namespace outboard::io {

using WebSocket = boost::beast::websocket::stream<boost::beast::tcp_stream>;

struct WebSocketOptions {
  std::chrono::milliseconds handshake_timeout{2000};  // the opening and the closing handshake
  std::chrono::milliseconds idle_timeout{0};          // pinged, then dropped, after this silence; 0: never
  std::size_t max_message_bytes = 64 * 1024;          // a bigger message closes with 1009
  std::string served_by;                              // X-Served-By on the 101
};

// Sets the options and answers the upgrade `request` (101). `early`: what the client sent after
// the request, already read. False when the handshake failed (the connection is done).
boost::asio::awaitable<bool> accept_websocket(WebSocket& ws, http::Request const& request, std::string early,
                                              WebSocketOptions const& options);

}  // namespace outboard::io
