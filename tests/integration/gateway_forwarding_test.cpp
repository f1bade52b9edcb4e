// What `outboard gateway` changes on the way through, and what it must not: forwarding headers
// added, hop-by-hop headers dropped (both ways), bodies (fixed-length, chunked, 1 MiB) and
// responses (fixed-length, chunked) intact, keep-alive kept, and a WebSocket upgrade spliced.
// The test backend's /echo shows what arrived.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"
#include "support/websocket_handshake.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

class GatewayForwarding : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = std::make_unique<TestBackend>("fwd");
    GatewayOptions o;
    o.backends = {backend_->address()};
    gateway_ = std::make_unique<GatewayProcess>(o);
  }
  static void TearDownTestSuite() {
    gateway_.reset();
    backend_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(gateway_->running()) << "the gateway is gone (an earlier test took it down); log:\n" << gateway_->log();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- gateway log ----\n" << gateway_->log() << "---- end ----\n";
  }

  // GET /echo through the gateway with `headers`; the backend's view of the request.
  static nlohmann::json echo(HeaderList const& headers = {}) {
    HttpClient client(gateway_->port());
    auto res = client.request("GET", "/echo", {}, headers);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json();
  }

  static std::unique_ptr<TestBackend> backend_;
  static std::unique_ptr<GatewayProcess> gateway_;
};

std::unique_ptr<TestBackend> GatewayForwarding::backend_;
std::unique_ptr<GatewayProcess> GatewayForwarding::gateway_;

std::string pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + i % 26);
  return out;
}

TEST_F(GatewayForwarding, AddsForwardedForProtoAndRequestId) {
  auto seen = echo();
  auto const& h = seen["headers"];
  EXPECT_EQ(h.value("x-forwarded-for", ""), "127.0.0.1") << seen.dump();
  EXPECT_EQ(h.value("x-forwarded-proto", ""), "http") << seen.dump();
  std::string id = h.value("x-request-id", "");
  EXPECT_GE(id.size(), 16u) << "no generated X-Request-Id: " << seen.dump();
  std::string other = echo()["headers"].value("x-request-id", "");
  EXPECT_NE(id, other) << "two requests got the same generated X-Request-Id";
}

// The client (127.0.0.1) is not in forwarding.trusted_proxies (empty by default): what it says
// about who it is or how it came is replaced, not appended to.
TEST_F(GatewayForwarding, KeepsAClientRequestIdAndTraceparentAndReplacesItsForwardedFor) {
  std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto seen = echo({{"X-Request-Id", "client-chosen-id-42"},
                    {"traceparent", traceparent},
                    {"tracestate", "vendor=abc"},
                    {"X-Forwarded-For", "10.1.2.3"},
                    {"Forwarded", "for=10.1.2.3;proto=https"},
                    {"X-Forwarded-Proto", "https"},
                    {"X-Forwarded-Host", "admin.internal"}});
  auto const& h = seen["headers"];
  EXPECT_EQ(h.value("x-request-id", ""), "client-chosen-id-42") << seen.dump();
  EXPECT_EQ(h.value("traceparent", ""), traceparent) << seen.dump();
  EXPECT_EQ(h.value("tracestate", ""), "vendor=abc") << seen.dump();
  EXPECT_EQ(h.value("x-forwarded-for", ""), "127.0.0.1") << seen.dump();
  EXPECT_EQ(h.value("forwarded", ""), "for=127.0.0.1;proto=http") << seen.dump();
  EXPECT_EQ(h.value("x-forwarded-proto", ""), "http") << seen.dump();
  EXPECT_FALSE(h.contains("x-forwarded-host")) << seen.dump();
}

// Behind a trusted proxy (127.0.0.0/8 listed), its chain is kept and the peer appended, and the
// scheme it was reached by stays.
TEST_F(GatewayForwarding, AppendsToATrustedProxysForwardedFor) {
  GatewayOptions o;
  o.backends = {backend_->address()};
  o.config = "[forwarding]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.0/8\"]\n";
  GatewayProcess trusting(o);
  HttpClient client(trusting.port());
  auto res = client.request("GET", "/echo", {},
                            {{"X-Forwarded-For", "203.0.113.9"},
                             {"Forwarded", "for=203.0.113.9;proto=https"},
                             {"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(res.status, 200) << res.body;
  auto seen = res.json();
  auto const& h = seen["headers"];
  EXPECT_EQ(h.value("x-forwarded-for", ""), "203.0.113.9, 127.0.0.1") << seen.dump();
  EXPECT_EQ(h.value("forwarded", ""), "for=203.0.113.9;proto=https, for=127.0.0.1;proto=http") << seen.dump();
  EXPECT_EQ(h.value("x-forwarded-proto", ""), "https") << seen.dump();
}

TEST_F(GatewayForwarding, DropsHopByHopRequestHeaders) {
  RawConnection conn(gateway_->port());
  conn.send("GET /echo HTTP/1.1\r\n"
            "Host: gw\r\n"
            "Connection: keep-alive, X-Secret, Upgrade\r\n"
            "Keep-Alive: timeout=5\r\n"
            "TE: trailers\r\n"
            "Upgrade: h2c\r\n"
            "Proxy-Connection: keep-alive\r\n"
            "X-Secret: for-the-next-hop-only\r\n"
            "X-End-To-End: kept\r\n"
            "\r\n");
  auto res = conn.read_response();
  ASSERT_EQ(res.status, 200) << res.body;
  auto seen = res.json();
  auto const& h = seen["headers"];
  for (std::string name : {"keep-alive", "te", "upgrade", "proxy-connection", "x-secret"}) {
    EXPECT_FALSE(h.contains(name)) << name << " was forwarded: " << seen.dump();
  }
  std::string connection = h.value("connection", "");
  EXPECT_EQ(connection.find("secret"), std::string::npos) << "Connection: " << connection;
  EXPECT_EQ(connection.find("pgrade"), std::string::npos) << "Connection: " << connection;
  EXPECT_EQ(h.value("x-end-to-end", ""), "kept") << seen.dump();
  // Not a WebSocket upgrade: an ordinary response, and the connection is still usable.
  conn.send("GET /echo HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(conn.read_response().status, 200);
}

TEST_F(GatewayForwarding, DropsHopByHopResponseHeaders) {
  HttpClient client(gateway_->port());
  auto res = client.get("/hop");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("X-Served-By"), backend_->name());
  EXPECT_EQ(res.header("Keep-Alive"), std::nullopt);
  EXPECT_EQ(res.header("X-Hop-Secret"), std::nullopt) << "a header the backend named in Connection reached the client";
  EXPECT_EQ(res.header("X-End-To-End"), "kept");
  EXPECT_EQ(res.body, "hop");
}

TEST_F(GatewayForwarding, ChunkedRequestBodyArrivesIntact) {
  std::string body = pattern(100'000);
  std::string wire = "POST /echo HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  std::size_t sizes[] = {1, 10, 4096, 16'384, 30'000};
  std::size_t at = 0;
  for (std::size_t i = 0; at < body.size(); ++i) {
    std::size_t n = std::min(sizes[i % 5], body.size() - at);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", n);
    wire += std::string(hex) + "\r\n" + body.substr(at, n) + "\r\n";
    at += n;
  }
  wire += "0\r\n\r\n";
  RawConnection conn(gateway_->port());
  conn.send(wire);
  auto res = conn.read_response();
  ASSERT_EQ(res.status, 200) << res.body;
  auto seen = res.json();
  EXPECT_EQ(seen.value("body_size", 0u), body.size()) << seen.dump();
  EXPECT_EQ(seen.value("body_sha256", ""), sha256_hex(body));
}

TEST_F(GatewayForwarding, SmallAndOneMebibyteBodiesArriveIntact) {
  HttpClient client(gateway_->port());
  for (std::size_t size : {std::size_t{10}, std::size_t{60'000}, std::size_t{1} << 20}) {
    std::string body = pattern(size);
    body[size / 2] = '\0';  // binary-safe too
    auto res = client.request("POST", "/echo", body, {{"Content-Type", "application/octet-stream"}});
    ASSERT_EQ(res.status, 200) << res.body;
    auto seen = res.json();
    EXPECT_EQ(seen.value("body_size", 0u), size);
    EXPECT_EQ(seen.value("body_sha256", ""), sha256_hex(body)) << "a " << size << "-byte body changed on the way";
    EXPECT_EQ(seen["headers"].value("content-length", ""), std::to_string(size));
  }
}

TEST_F(GatewayForwarding, LargeResponsesArriveIntact) {
  HttpClient client(gateway_->port());
  std::string expected = pattern(1 << 20);
  auto fixed = client.get("/bytes?n=1048576");
  ASSERT_EQ(fixed.status, 200);
  EXPECT_EQ(fixed.body.size(), expected.size());
  EXPECT_TRUE(fixed.body == expected) << "the fixed-length response changed on the way";
  auto chunked = client.get("/bytes?n=1048576&chunked=1");
  ASSERT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.body.size(), expected.size());
  EXPECT_TRUE(chunked.body == expected) << "the chunked response changed on the way";
}

TEST_F(GatewayForwarding, KeepsTheClientConnectionAlive) {
  KeepAliveClient client(gateway_->port());
  for (int i = 0; i < 50; ++i) {
    auto res = client.get(i % 2 ? "/echo" : "/bytes?n=5000&chunked=1");
    ASSERT_EQ(res.status, 200) << "request " << i;
  }
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(GatewayForwarding, HeadGetsNoBody) {
  RawConnection conn(gateway_->port());
  conn.send("HEAD /bytes?n=1000 HTTP/1.1\r\nHost: gw\r\n\r\n");
  auto head = conn.read_response(true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "1000");
  // The connection is still in step: the next response is the right one.
  conn.send("GET /bytes?n=26 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
  auto get = conn.read_response();
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "abcdefghijklmnopqrstuvwxyz");
}

TEST_F(GatewayForwarding, ExpectContinueGetsAnInterimResponse) {
  // A client that asks for 100-continue waits for it before sending the body (outboard serve
  // answers it; see ServeDrain). Through the gateway it must come too, from the gateway or the
  // backend, and the request must then complete.
  RawConnection conn(gateway_->port(), 2s);
  conn.send("POST /echo HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  int interim = 0;
  try {
    interim = conn.read_response().status;
  } catch (std::exception const& e) {
    ADD_FAILURE() << "no answer to Expect: 100-continue within 2 s: " << e.what();
  }
  EXPECT_EQ(interim, 100);
  conn.send("hello");
  HttpResponse res;
  if (interim == 100) {
    res = conn.read_response();
  } else {
    RawConnection again(gateway_->port());  // the first one is out of step; just check the gateway
    again.send("GET /echo HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    res = again.read_response();
  }
  EXPECT_EQ(res.status, 200);
}

// A client frame (masked, as clients must) with this opcode and payload.
std::string masked_frame(std::string const& payload, unsigned char opcode = 0x1) {
  std::string f{static_cast<char>(0x80 | opcode)};
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((payload.size() >> shift) & 0xFF);
  }
  unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  for (unsigned char m : mask) f += static_cast<char>(m);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// The same frame as a server sends it: unmasked.
std::string server_frame(std::string const& payload, unsigned char opcode = 0x1) {
  std::string f{static_cast<char>(0x80 | opcode)};
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else {
    f += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((payload.size() >> shift) & 0xFF);
  }
  return f + payload;
}

TEST_F(GatewayForwarding, WebSocketUpgradeIsSplicedBothWays) {
  ByteSocket ws(gateway_->port());
  ws.send(websocket_handshake());
  std::string head = ws.read_until("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  EXPECT_NE(head.find(std::string("Sec-WebSocket-Accept: ") + kWebSocketAccept), std::string::npos) << head;
  EXPECT_NE(head.find("X-Served-By: " + backend_->name()), std::string::npos) << head;
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("upgrade: websocket"), std::string::npos) << head;

  ws.send(masked_frame("hello through the gateway"));
  auto echo = server_frame("hello through the gateway");
  EXPECT_EQ(ws.read_exactly(echo.size()), echo);
  std::string big = pattern(100'000);  // bigger than any one read: the splice copies in pieces
  ws.send(masked_frame(big, 0x2));
  auto big_echo = server_frame(big, 0x2);
  EXPECT_TRUE(ws.read_exactly(big_echo.size()) == big_echo) << "a binary frame changed on the way";
  EXPECT_EQ(backend_->count("/chat"), 1u);
}

TEST_F(GatewayForwarding, WebSocketBytesSentWithTheHandshakeAreNotLost) {
  ByteSocket ws(gateway_->port());
  ws.send(websocket_handshake() + masked_frame("sent at once"));
  std::string head = ws.read_until("\r\n\r\n");
  ASSERT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  auto echo = server_frame("sent at once");
  EXPECT_EQ(ws.read_exactly(echo.size()), echo);
}

}  // namespace
}  // namespace outboard::testing
