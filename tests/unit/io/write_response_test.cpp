// io::async_write_response over a real loopback socket: what the socket takes at once is sent
// without an asynchronous operation, the rest waits for the socket; either way the peer reads
// exactly the head text and the body, in order. A peer that is gone is an error, not a hang.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>

#include <string>

#include "core/use_nothrow.hpp"
#include "io/write_response.hpp"

namespace outboard::io {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// A connected loopback pair: the server side writes responses, the client side reads them.
struct ResponsePair {
  asio::io_context io;
  tcp::socket client{io};
  beast::tcp_stream server{io};

  explicit ResponsePair(int buffer_bytes = 0) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    if (buffer_bytes > 0) {  // before connecting: the receive window is set at the handshake
      client.open(tcp::v4());
      client.set_option(asio::socket_base::receive_buffer_size(buffer_bytes));
    }
    client.connect(acceptor.local_endpoint());
    server.socket() = acceptor.accept();
    if (buffer_bytes > 0) server.socket().set_option(asio::socket_base::send_buffer_size(buffer_bytes));
  }
};

http::Response response_with_body(std::string body) {
  http::Response res{http::Status::ok, 11};
  res.set(http::bhttp::field::content_type, "application/octet-stream");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Writes `res` while the client reads `expected_bytes`; what the client read, and the write's error.
std::pair<std::string, boost::system::error_code> write_and_read(ResponsePair& pair, http::Response& res,
                                                                 std::size_t expected_bytes) {
  std::string got(expected_bytes, '\0');
  asio::co_spawn(
      pair.io,
      [&]() -> asio::awaitable<void> {
        co_await asio::async_read(pair.client, asio::buffer(got), core::use_nothrow);
      },
      asio::detached);
  pair.server.expires_after(std::chrono::seconds(60));
  auto written = asio::co_spawn(pair.io, async_write_response(pair.server, res), asio::use_future);
  pair.io.run();
  return {got, written.get()};
}

TEST(WriteResponse, ASmallResponseArrivesAsItsHeadTextAndBody) {
  ResponsePair pair;
  auto res = response_with_body("hello");
  std::string expected = http::response_head_text(res) + "hello";
  auto [got, ec] = write_and_read(pair, res, expected.size());
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(got, expected);
}

TEST(WriteResponse, WhatTheSocketCannotTakeAtOnceFollowsInOrder) {
  // 4 KiB socket buffers and a 4 MiB body: the first send takes a small part of it (mid-head
  // or mid-body), the rest goes through the asynchronous write as the client reads.
  ResponsePair pair(4096);
  std::string body(4 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7919) % 26);
  auto res = response_with_body(body);
  std::string expected = http::response_head_text(res) + body;
  auto [got, ec] = write_and_read(pair, res, expected.size());
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the bytes read differ from the head and body written";
}

TEST(WriteResponse, APeerThatIsGoneIsAnError) {
  ResponsePair pair(4096);
  pair.client.close();
  auto res = response_with_body(std::string(4 << 20, 'x'));
  pair.server.expires_after(std::chrono::seconds(60));
  auto written = asio::co_spawn(pair.io, async_write_response(pair.server, res), asio::use_future);
  pair.io.run();
  auto ec = written.get();
  EXPECT_TRUE(ec == asio::error::broken_pipe || ec == asio::error::connection_reset) << ec.message();
}

}  // namespace
}  // namespace outboard::io
