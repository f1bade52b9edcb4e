// A WebSocket through `outboard gateway` when the gateway drains (SIGTERM): the client gets a close
// frame with code 1001 "going away" (RFC 6455 section 7.4.1) instead of a dropped connection, and
// once it answers, the gateway hangs up and exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "support/gateway_process.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

// RFC 6455 section 1.3's example key.
std::string handshake() {
  return "GET /chat HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// A masked close frame from the client with `code` and no reason.
std::string client_close(std::uint16_t code) {
  unsigned char mask[4] = {0x0F, 0x1E, 0x2D, 0x3C};
  std::string f{static_cast<char>(0x88), static_cast<char>(0x80 | 2)};
  for (unsigned char m : mask) f += static_cast<char>(m);
  f += static_cast<char>((code >> 8) ^ mask[0]);
  f += static_cast<char>((code & 0xFF) ^ mask[1]);
  return f;
}

struct CloseFrame {
  bool masked = false;
  std::uint16_t code = 0;
  std::string reason;
};

// Reads one frame; nullopt unless it is a close frame (short: a control frame's length fits 7 bits).
std::optional<CloseFrame> read_close_frame(ByteSocket& ws) {
  std::string head = ws.read_exactly(2);
  auto first = static_cast<unsigned char>(head[0]);
  auto second = static_cast<unsigned char>(head[1]);
  if (first != 0x88 || (second & 0x7F) > 125) return std::nullopt;
  CloseFrame f;
  f.masked = (second & 0x80) != 0;
  std::string mask = f.masked ? ws.read_exactly(4) : std::string(4, '\0');
  std::string payload = ws.read_exactly(second & 0x7F);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
  if (payload.size() >= 2) {
    f.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                        static_cast<unsigned char>(payload[1]));
    f.reason = payload.substr(2);
  }
  return f;
}

TEST(GatewayWebSocketDrain, SigtermClosesAWebSocketWithGoingAway) {
  TestBackend backend("ws-drain");
  GatewayOptions o;
  o.backends = {backend.address()};
  o.extra_args = {"--drain-timeout-ms", "20000"};
  GatewayProcess gateway(o);

  ByteSocket ws(gateway.port());
  ws.send(handshake());
  std::string head = ws.read_until("\r\n\r\n");
  ASSERT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  // One frame there and back first, so the drain meets a tunnel that is carrying traffic.
  std::string hello{static_cast<char>(0x81), static_cast<char>(0x80 | 2), 0, 0, 0, 0, 'h', 'i'};
  ws.send(hello);
  EXPECT_EQ(ws.read_exactly(4), (std::string{static_cast<char>(0x81), 2, 'h', 'i'}));

  gateway.signal(SIGTERM);

  auto close = read_close_frame(ws);
  ASSERT_TRUE(close.has_value()) << "the client did not get a close frame";
  EXPECT_FALSE(close->masked) << "the gateway speaks as a server to the client: no mask";
  EXPECT_EQ(close->code, 1001);
  EXPECT_EQ(close->reason, "going away");

  ws.send(client_close(1001));
  EXPECT_TRUE(ws.wait_closed(10s)) << "the gateway did not hang up after the close handshake";
  EXPECT_EQ(gateway.wait_exit(20'000), std::optional<int>(0)) << "no clean exit after the drain";
}

}  // namespace
}  // namespace outboard::testing
