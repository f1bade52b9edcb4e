#pragma once
// The raw WebSocket upgrade request the gateway tests send through the gateway.
#include <string>

namespace outboard::testing {

// RFC 6455 section 1.3's example key, and the Sec-WebSocket-Accept a server must answer to it.
inline constexpr char kWebSocketKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
inline constexpr char kWebSocketAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// GET /chat with Upgrade: websocket and kWebSocketKey.
inline std::string websocket_handshake() {
  return std::string("GET /chat HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n") +
         "Sec-WebSocket-Key: " + kWebSocketKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

}  // namespace outboard::testing
