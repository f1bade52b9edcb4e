// splice_websocket on real loopback sockets and a real io_context: the test plays the WebSocket
// client on one socket pair and the backend on another, the tunnel sits between them. Every
// wait is for an event (a frame read, EOF, the tunnel's end); the 10 s guards only turn a hang
// into a failure.
#include "gateway/websocket_tunnel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <optional>
#include <string>

#include "support/run_coro.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::gateway {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using core::use_nothrow;
constexpr auto kGuard = 10s;

std::string header(std::uint8_t first_byte, std::size_t length, bool masked) {
  std::string h(1, static_cast<char>(first_byte));
  char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    h += static_cast<char>(mask_bit | static_cast<char>(length));
  } else if (length < 0x10000) {
    h += static_cast<char>(mask_bit | 126);
    h += static_cast<char>(length >> 8);
    h += static_cast<char>(length & 0xFF);
  } else {
    h += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) h += static_cast<char>((length >> shift) & 0xFF);
  }
  return h;
}

constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xFA, 0x21, 0x3D};

// A frame as a client sends it (masked).
std::string client_frame(std::uint8_t first_byte, std::string const& payload) {
  std::string f = header(first_byte, payload.size(), true);
  for (auto m : kMask) f += static_cast<char>(m);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ kMask[i % 4]);
  return f;
}

// A frame as a server sends it (unmasked).
std::string server_frame(std::uint8_t first_byte, std::string const& payload) {
  return header(first_byte, payload.size(), false) + payload;
}

std::string close_payload(std::uint16_t code) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

struct Frame {
  std::uint8_t first_byte = 0;
  bool masked = false;
  std::string payload;  // unmasked
  std::uint8_t opcode() const { return first_byte & 0x0F; }
  std::uint16_t close_code() const {
    if (payload.size() < 2) return 0;
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]));
  }
  std::string close_reason() const { return payload.size() < 2 ? "" : payload.substr(2); }
};

// Reads exactly n bytes; nullopt on EOF, error or the guard.
asio::awaitable<std::optional<std::string>> read_exactly(tcp::socket& s, std::size_t n) {
  using namespace asio::experimental::awaitable_operators;
  std::string data(n, '\0');
  asio::steady_timer guard(s.get_executor(), kGuard);
  auto result = co_await (asio::async_read(s, asio::buffer(data), use_nothrow) || guard.async_wait(use_nothrow));
  if (result.index() != 0) co_return std::nullopt;
  auto [ec, got] = std::get<0>(result);
  if (ec) co_return std::nullopt;
  co_return data;
}

asio::awaitable<std::optional<Frame>> read_frame(tcp::socket& s) {
  auto head = co_await read_exactly(s, 2);
  if (!head) co_return std::nullopt;
  Frame f;
  f.first_byte = static_cast<std::uint8_t>((*head)[0]);
  f.masked = ((*head)[1] & 0x80) != 0;
  std::uint64_t length = (*head)[1] & 0x7F;
  std::size_t ext = length == 126 ? 2 : length == 127 ? 8 : 0;
  if (ext > 0) {
    auto bytes = co_await read_exactly(s, ext);
    if (!bytes) co_return std::nullopt;
    length = 0;
    for (char c : *bytes) length = (length << 8) | static_cast<std::uint8_t>(c);
  }
  std::string mask;
  if (f.masked) {
    auto m = co_await read_exactly(s, 4);
    if (!m) co_return std::nullopt;
    mask = *m;
  }
  auto payload = co_await read_exactly(s, static_cast<std::size_t>(length));
  if (!payload) co_return std::nullopt;
  if (f.masked) {
    for (std::size_t i = 0; i < payload->size(); ++i) (*payload)[i] = static_cast<char>((*payload)[i] ^ mask[i % 4]);
  }
  f.payload = std::move(*payload);
  co_return f;
}

// True once the peer closes (EOF or reset); bytes arriving meanwhile are dropped.
asio::awaitable<bool> closed_by_peer(tcp::socket& s) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer guard(s.get_executor(), kGuard);
  std::array<char, 4096> sink;
  for (;;) {
    auto result = co_await (s.async_read_some(asio::buffer(sink), use_nothrow) || guard.async_wait(use_nothrow));
    if (result.index() != 0) co_return false;
    auto [ec, n] = std::get<0>(result);
    if (ec) co_return true;
  }
}

asio::awaitable<bool> send(tcp::socket& s, std::string bytes) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), use_nothrow);
  co_return !ec;
}

void connect_pair(tcp::acceptor& acceptor, tcp::socket& a, tcp::socket& b) {
  a.connect(acceptor.local_endpoint());  // completes from the backlog, before accept
  acceptor.accept(b);
}

class SpliceWebSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    connect_pair(acceptor, client_, gateway_client_side_);
    connect_pair(acceptor, gateway_upstream_side_, backend_);
  }

  void start(TunnelOptions options, std::string from_client = {}, std::string from_upstream = {}) {
    asio::co_spawn(io_,
                   splice_websocket(gateway_client_side_, gateway_upstream_side_, std::move(from_client),
                                    std::move(from_upstream), options, registry_, counters_),
                   [this](std::exception_ptr e, TunnelEnd end) {
                     if (e) {
                       thrown_ = true;
                     } else {
                       end_ = end;
                     }
                   });
  }

  // Runs the test's side of the conversation (on the same io_context as the tunnel).
  void run(asio::awaitable<void> steps) { testing::run_coro(io_, std::move(steps)); }

  // Runs the io_context until the tunnel has ended; its reason.
  std::optional<TunnelEnd> wait_for_end() {
    auto give_up = std::chrono::steady_clock::now() + kGuard;
    io_.restart();
    while (!end_ && !thrown_ && std::chrono::steady_clock::now() < give_up) {
      if (io_.run_one_for(50ms) == 0) io_.restart();
    }
    EXPECT_FALSE(thrown_) << "the tunnel threw";
    return end_;
  }

  // The next frame the client gets must be a close frame with `code` (and `reason` when given),
  // unmasked: the gateway is the client's server.
  asio::awaitable<void> expect_close_at_client(std::uint16_t code, std::string reason = {}) {
    auto f = co_await read_frame(client_);
    EXPECT_TRUE(f.has_value()) << "no frame reached the client";
    if (!f) co_return;
    EXPECT_EQ(f->opcode(), 0x8);
    EXPECT_FALSE(f->masked) << "a server's frames are never masked";
    EXPECT_EQ(f->close_code(), code);
    if (!reason.empty()) {
      EXPECT_EQ(f->close_reason(), reason);
    }
  }
  // Likewise at the backend, and masked: the gateway is the backend's client.
  asio::awaitable<void> expect_close_at_backend(std::uint16_t code) {
    auto f = co_await read_frame(backend_);
    EXPECT_TRUE(f.has_value()) << "no frame reached the backend";
    if (!f) co_return;
    EXPECT_EQ(f->opcode(), 0x8);
    EXPECT_TRUE(f->masked) << "a client's frames must be masked";
    EXPECT_EQ(f->close_code(), code);
  }
  // Both peers answer the gateway's close frame, as RFC 6455 peers do.
  asio::awaitable<void> answer_closes(std::uint16_t code) {
    EXPECT_TRUE(co_await send(client_, client_frame(0x88, close_payload(code))));
    EXPECT_TRUE(co_await send(backend_, server_frame(0x88, close_payload(code))));
  }

  static TunnelOptions options(core::Millis idle = core::Millis{0}, core::Millis grace = core::Millis{10'000}) {
    return TunnelOptions{idle, grace};
  }

  // Declared before io_: a tunnel still running when a test fails is destroyed with io_, and its
  // destructor unregisters itself and counts down.
  TunnelRegistry registry_;
  WebSocketCounters counters_;
  std::optional<TunnelEnd> end_;
  bool thrown_ = false;
  asio::io_context io_;
  tcp::socket client_{io_};                 // the test's WebSocket client
  tcp::socket gateway_client_side_{io_};    // the tunnel's client socket
  tcp::socket gateway_upstream_side_{io_};  // the tunnel's upstream socket
  tcp::socket backend_{io_};                // the test's backend
};

TEST_F(SpliceWebSocket, FramesPassBothWaysUnchangedAndACloseHandshakeEndsIt) {
  std::string early = client_frame(0x81, "sent with the handshake");
  start(options(), early, server_frame(0x81, "hello from the backend"));
  run([&]() -> asio::awaitable<void> {
    // A fragmented message with a ping between its fragments, then a frame with a 64-bit length,
    // written in uneven pieces so headers and payloads arrive split.
    std::string stream = client_frame(0x01, "frag-1") + client_frame(0x89, "ping") + client_frame(0x80, "frag-2") +
                         client_frame(0x82, pattern(70'000));
    for (std::size_t at = 0, piece = 1; at < stream.size(); at += piece, piece = piece * 7 + 3) {
      EXPECT_TRUE(co_await send(client_, stream.substr(at, piece)));
    }
    auto at_backend = co_await read_exactly(backend_, early.size() + stream.size());
    EXPECT_TRUE(at_backend == early + stream) << "client bytes changed on the way";

    std::string answer = server_frame(0x82, pattern(300)) + server_frame(0x8A, "pong");
    EXPECT_TRUE(co_await send(backend_, answer));
    std::string first = server_frame(0x81, "hello from the backend");
    auto at_client = co_await read_exactly(client_, first.size() + answer.size());
    EXPECT_TRUE(at_client == first + answer) << "backend bytes changed on the way";

    // The peers' own close handshake goes through like any frame; then both hang up.
    std::string client_close = client_frame(0x88, close_payload(1000));
    EXPECT_TRUE(co_await send(client_, client_close));
    EXPECT_EQ(co_await read_exactly(backend_, client_close.size()), client_close);
    std::string backend_close = server_frame(0x88, close_payload(1000));
    EXPECT_TRUE(co_await send(backend_, backend_close));
    EXPECT_EQ(co_await read_exactly(client_, backend_close.size()), backend_close);
    backend_.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await closed_by_peer(client_));
    client_.close();
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::peers_closed);
  EXPECT_EQ(counters_.open.load(), 0u);
  EXPECT_EQ(counters_.closed_drain.load() + counters_.closed_idle.load() + counters_.protocol_errors.load(), 0u);
  EXPECT_EQ(registry_.live(), 0u);
}

TEST_F(SpliceWebSocket, DrainSendsClose1001ToTheClientAndAMaskedOneToTheBackend) {
  start(options());
  run([&]() -> asio::awaitable<void> {
    // One frame through first: the tunnel is running and registered.
    std::string hello = client_frame(0x81, "hi");
    EXPECT_TRUE(co_await send(client_, hello));
    EXPECT_EQ(co_await read_exactly(backend_, hello.size()), hello);
    EXPECT_EQ(registry_.live(), 1u);
    EXPECT_EQ(counters_.open.load(), 1u);

    registry_.drain_all();

    co_await expect_close_at_client(1001, "going away");
    co_await expect_close_at_backend(1001);
    // Both peers answer the close; then the gateway hangs up on both.
    co_await answer_closes(1001);
    EXPECT_TRUE(co_await closed_by_peer(client_));
    EXPECT_TRUE(co_await closed_by_peer(backend_));
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::drain);
  EXPECT_EQ(counters_.closed_drain.load(), 1u);
  EXPECT_EQ(counters_.open.load(), 0u);
}

TEST_F(SpliceWebSocket, DrainDuringAFrameSendsTheCloseOnlyAfterThatFrame) {
  start(options());
  run([&]() -> asio::awaitable<void> {
    std::string frame = client_frame(0x82, pattern(1000));
    std::string first_part = frame.substr(0, 500);
    std::string rest = frame.substr(500);
    EXPECT_TRUE(co_await send(client_, first_part));
    // The backend has the first part: the tunnel is inside the frame now.
    EXPECT_EQ(co_await read_exactly(backend_, first_part.size()), first_part);

    registry_.drain_all();

    // The other direction was between frames: its close goes at once.
    co_await expect_close_at_client(1001);
    // The rest of the frame, and a frame sent after the drain began, in one write: the rest goes
    // on, then the close frame; the later frame is dropped (nothing may follow a close frame).
    EXPECT_TRUE(co_await send(client_, rest + client_frame(0x81, "too late")));
    EXPECT_EQ(co_await read_exactly(backend_, rest.size()), rest) << "the close frame was put inside the frame";
    co_await expect_close_at_backend(1001);
    co_await answer_closes(1001);
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::drain);
}

TEST_F(SpliceWebSocket, DrainDuringABackendFrameSendsTheCloseOnlyAfterThatFrame) {
  start(options());
  run([&]() -> asio::awaitable<void> {
    std::string frame = server_frame(0x82, pattern(100'000));
    std::string first_part = frame.substr(0, 3);  // ends inside the 64-bit length: held back
    std::string second_part = frame.substr(3, 5000);
    std::string rest = frame.substr(5003);
    EXPECT_TRUE(co_await send(backend_, first_part + second_part));
    EXPECT_EQ(co_await read_exactly(client_, first_part.size() + second_part.size()), first_part + second_part);

    registry_.drain_all();

    co_await expect_close_at_backend(1001);
    EXPECT_TRUE(co_await send(backend_, rest));
    EXPECT_TRUE(co_await read_exactly(client_, rest.size()) == rest) << "the close frame was put inside the frame";
    co_await expect_close_at_client(1001);
    co_await answer_closes(1001);
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::drain);
}

TEST_F(SpliceWebSocket, IdleTimeoutClosesBothSidesWith1001) {
  start(options(core::Millis{20}));
  run([&]() -> asio::awaitable<void> {
    co_await expect_close_at_client(1001, "idle");
    co_await expect_close_at_backend(1001);
    co_await answer_closes(1001);
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::idle);
  EXPECT_EQ(counters_.closed_idle.load(), 1u);
  EXPECT_EQ(counters_.closed_drain.load(), 0u);
}

TEST_F(SpliceWebSocket, ABadFrameHeaderClosesBothSidesWith1002AndIsNotPassedOn) {
  start(options());
  run([&]() -> asio::awaitable<void> {
    std::string good = client_frame(0x81, "fine");
    std::string unmasked = server_frame(0x81, "a client must mask");  // from the client: bad
    EXPECT_TRUE(co_await send(client_, good + unmasked));
    EXPECT_EQ(co_await read_exactly(backend_, good.size()), good);
    co_await expect_close_at_backend(1002);  // fails if the bad frame's bytes came first
    co_await expect_close_at_client(1002, "protocol error");
    // The client's side is not waited for (its stream cannot be followed); the backend answers.
    EXPECT_TRUE(co_await send(backend_, server_frame(0x88, close_payload(1002))));
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::protocol_error);
  EXPECT_EQ(counters_.protocol_errors.load(), 1u);
}

TEST_F(SpliceWebSocket, ATunnelStartedDuringADrainClosesAtOnce) {
  registry_.drain_all();
  start(options());
  run([&]() -> asio::awaitable<void> {
    co_await expect_close_at_client(1001);
    co_await expect_close_at_backend(1001);
    co_await answer_closes(1001);
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::drain);
}

TEST_F(SpliceWebSocket, PeersThatNeverAnswerAreHungUpOnAfterTheGrace) {
  start(options(core::Millis{0}, core::Millis{20}));
  run([&]() -> asio::awaitable<void> {
    std::string hello = client_frame(0x81, "hi");
    EXPECT_TRUE(co_await send(client_, hello));
    EXPECT_EQ(co_await read_exactly(backend_, hello.size()), hello);
    registry_.drain_all();
    co_await expect_close_at_client(1001);
    // Neither peer sends its close frame: the grace runs out and both are hung up on.
    EXPECT_TRUE(co_await closed_by_peer(client_));
    EXPECT_TRUE(co_await closed_by_peer(backend_));
  }());
  EXPECT_EQ(wait_for_end(), TunnelEnd::drain);
}

}  // namespace
}  // namespace outboard::gateway
