// A WebSocket through `outboard gateway` when the gateway drains (SIGTERM), or when its backend is
// removed through the admin API: the client gets a close frame with code 1001 "going away" (RFC
// 6455 section 7.4.1) instead of a dropped connection, and once it answers, the gateway hangs up
// (and, on a drain, exits 0).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "support/gateway_process.hpp"
#include "support/test_backend.hpp"
#include "support/websocket_handshake.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

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

// Opens a WebSocket through the gateway; returns the X-Served-By of its 101.
std::string open_websocket(ByteSocket& ws) {
  ws.send(websocket_handshake());
  std::string head = ws.read_until("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  auto at = head.find("X-Served-By: ");
  if (at == std::string::npos) return {};
  at += std::string_view("X-Served-By: ").size();
  return head.substr(at, head.find("\r\n", at) - at);
}

// A masked text frame `text` (under 126 bytes) there and back through the tunnel.
void expect_echo(ByteSocket& ws, std::string const& text) {
  std::string frame{static_cast<char>(0x81), static_cast<char>(0x80 | text.size()), 0, 0, 0, 0};
  ws.send(frame + text);  // a zero mask: the payload as it is
  std::string echoed{static_cast<char>(0x81), static_cast<char>(text.size())};
  EXPECT_EQ(ws.read_exactly(2 + text.size()), echoed + text);
}

TEST(GatewayWebSocketDrain, SigtermClosesAWebSocketWithGoingAway) {
  TestBackend backend("ws-drain");
  GatewayOptions o;
  o.backends = {backend.address()};
  o.extra_args = {"--drain-timeout-ms", "20000"};
  GatewayProcess gateway(o);

  ByteSocket ws(gateway.port());
  EXPECT_EQ(open_websocket(ws), backend.name());
  // One frame there and back first, so the drain meets a tunnel that is carrying traffic.
  expect_echo(ws, "hi");

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

// Reads the close frame the gateway sends when a tunnel's backend leaves, and completes the handshake.
void expect_going_away(ByteSocket& ws) {
  auto close = read_close_frame(ws);
  ASSERT_TRUE(close.has_value()) << "the client did not get a close frame";
  EXPECT_FALSE(close->masked);
  EXPECT_EQ(close->code, 1001);
  EXPECT_EQ(close->reason, "going away");
  ws.send(client_close(1001));
  EXPECT_TRUE(ws.wait_closed(10s)) << "the gateway did not hang up after the close handshake";
}

TEST(GatewayWebSocketDrain, RemovingOrDrainingABackendClosesItsWebSocketsWithGoingAwayAndNoOthers) {
  TestBackend a("ws-removed");
  TestBackend b("ws-kept");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};  // round robin, one thread: one WebSocket to each
  GatewayProcess gateway(o);

  ByteSocket first(gateway.port());
  ByteSocket second(gateway.port());
  std::string first_backend = open_websocket(first);
  std::string second_backend = open_websocket(second);
  ASSERT_EQ((std::set{first_backend, second_backend}), (std::set{a.name(), b.name()}));
  ByteSocket& to_a = first_backend == a.name() ? first : second;
  ByteSocket& to_b = first_backend == a.name() ? second : first;
  expect_echo(to_a, "a");
  expect_echo(to_b, "b");

  ASSERT_EQ(gateway.admin("DELETE", "/backends/" + a.address()).status, 200);
  {
    SCOPED_TRACE("the removed backend's client");
    expect_going_away(to_a);
  }
  expect_echo(to_b, "still here");  // the other backend's tunnel is untouched

  ASSERT_EQ(gateway.admin("POST", "/backends/" + b.address() + "/drain", "{}").status, 200);
  SCOPED_TRACE("the draining backend's client");
  expect_going_away(to_b);
}

}  // namespace
}  // namespace outboard::testing
