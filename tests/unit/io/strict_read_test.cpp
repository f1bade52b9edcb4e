// The strict layer in front of Beast's parser (io/strict_read.hpp, io/admit.hpp): serve's
// admission of raw bytes, and the coroutines over a real loopback socket. Each refusal must
// carry OUR rule id, not "parser": that is what shows our check ran before Beast.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <string>

#include "io/admit.hpp"
#include "io/strict_read.hpp"

namespace outboard::io {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

Admission admit(std::string_view bytes) { return admit_request(bytes, http::HeadLimits{}, 1 << 20); }

TEST(Admit, AcceptsAWellFormedRequestWithABody) {
  auto a = admit("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_FALSE(a.rejection) << a.rejection->rule;
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.body, "hello");
}

TEST(Admit, DecodesAChunkedBody) {
  auto a = admit("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n0\r\n\r\n");
  ASSERT_FALSE(a.rejection) << a.rejection->rule;
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.body, "hello");
}

TEST(Admit, IgnoresEmptyLinesBeforeTheRequestLine) {
  auto a = admit("\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_FALSE(a.rejection) << a.rejection->rule;
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.target, "/x");
}

TEST(Admit, HeadRefusalsNameOurRuleNotTheParser) {
  // Each of these Beast would refuse too (or not): the rule id proves which check said no.
  struct Case {
    std::string wire, rule;
  };
  for (auto const& c : std::vector<Case>{
           {"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "te-and-cl"},
           {"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "cl-duplicate"},
           {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "obs-fold"},
           {"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", "field-name-token"},
           {"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", "target-char"},
           {"GET / HTTP/1.1\nHost: a\n\n", "bare-lf"},
       }) {
    auto a = admit(c.wire);
    ASSERT_TRUE(a.rejection) << c.rule;
    EXPECT_EQ(a.rejection->rule, c.rule);
  }
}

TEST(Admit, AnUnbalancedQuoteInAChunkExtensionIsRefusedNotAwaited) {
  std::string wire = "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n";
  auto a = admit(wire);
  ASSERT_TRUE(a.rejection);
  EXPECT_EQ(a.rejection->rule, "chunk-ext");
  EXPECT_EQ(a.rejection->status, http::Status::bad_request);

  // Why the guard exists: Beast alone neither refuses nor finishes these bytes, it waits.
  bhttp::request_parser<bhttp::string_body> beast_alone;
  beast::error_code ec;
  std::size_t used = 0;
  while (!ec && used < wire.size() && !beast_alone.is_done()) {
    auto n = beast_alone.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
    used += n;
    if (n == 0) break;
  }
  EXPECT_FALSE(beast_alone.is_done());
  EXPECT_TRUE(!ec || ec == bhttp::error::need_more) << ec.message();
}

TEST(Admit, ABodyOverTheLimitIs413) {
  auto a = admit_request("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n", http::HeadLimits{}, 10);
  ASSERT_TRUE(a.rejection);
  EXPECT_EQ(a.rejection->status, http::Status::payload_too_large);
}

TEST(Admit, IncompleteInputIsNeitherAcceptedNorRefused) {
  auto a = admit("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel");
  EXPECT_FALSE(a.complete);
  EXPECT_FALSE(a.rejection);
}

// A connected loopback pair: `client` writes raw bytes, the test reads with the strict layer.
struct Loopback {
  asio::io_context io;
  tcp::socket client{io};
  beast::tcp_stream server{io};

  Loopback() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client.connect(acceptor.local_endpoint());
    server.socket() = acceptor.accept();
  }
  template <class T>
  T run(asio::awaitable<T> task) {
    auto future = asio::co_spawn(io, std::move(task), asio::use_future);
    io.run();
    return future.get();
  }
};

TEST(StrictRead, HeadAndChunkedBodyOverASocket) {
  Loopback lb;
  asio::write(lb.client, asio::buffer(std::string_view(
                             "\r\nPOST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /next HTTP/1.1\r\n")));
  beast::flat_buffer buffer;
  auto body = lb.run([&]() -> asio::awaitable<std::string> {
    bhttp::request_parser<bhttp::string_body> parser;
    auto head = co_await async_read_head_strict(lb.server, buffer, parser, http::HeadLimits{}, core::Millis{5000});
    if (head.ec || head.rejection) co_return "head failed";
    ChunkGuard guard(parser.chunked());
    auto got = co_await async_read_body_strict(lb.server, buffer, parser, guard);
    if (got.ec || got.rejection) co_return "body failed";
    co_return parser.get().body();
  }());
  EXPECT_EQ(body, "hello world");
  std::string_view rest(static_cast<char const*>(buffer.data().data()), buffer.size());
  EXPECT_TRUE(rest.starts_with("GET /next")) << rest;  // the pipelined request stays buffered
}

TEST(StrictRead, AChunkRuleStopsABufferBodyReadOverASocket) {
  Loopback lb;
  asio::write(lb.client, asio::buffer(std::string_view(
                             "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n")));
  auto rule = lb.run([&]() -> asio::awaitable<std::string> {
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::buffer_body> parser;
    auto head = co_await async_read_head_strict(lb.server, buffer, parser, http::HeadLimits{}, core::Millis{5000});
    if (head.ec || head.rejection) co_return "head failed";
    ChunkGuard guard(parser.chunked());
    std::array<char, 16> piece{};
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    auto got = co_await async_read_body_some_strict(lb.server, buffer, parser, guard);
    co_return got.rejection ? got.rejection->rule : "no rejection: " + got.ec.message();
  }());
  EXPECT_EQ(rule, "chunk-ext");
}

TEST(StrictRead, AHeadRefusalComesBeforeTheWholeHeadArrives) {
  // A 20 KiB field with no end: refused at the limit, without waiting for a CRLF CRLF.
  Loopback lb;
  std::string wire = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(20000, 'a');
  asio::write(lb.client, asio::buffer(wire));
  auto rule = lb.run([&]() -> asio::awaitable<std::string> {
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    auto head = co_await async_read_head_strict(lb.server, buffer, parser, http::HeadLimits{}, core::Millis{5000});
    co_return head.rejection ? head.rejection->rule : "no rejection: " + head.ec.message();
  }());
  EXPECT_EQ(rule, "head-too-large");
}

TEST(StrictRead, EndOfStreamBeforeAnyByte) {
  Loopback lb;
  lb.client.shutdown(tcp::socket::shutdown_send);
  auto ec = lb.run([&]() -> asio::awaitable<beast::error_code> {
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    auto head = co_await async_read_head_strict(lb.server, buffer, parser, http::HeadLimits{}, core::Millis{5000});
    co_return head.ec;
  }());
  EXPECT_EQ(ec, bhttp::error::end_of_stream);
}

}  // namespace
}  // namespace outboard::io
