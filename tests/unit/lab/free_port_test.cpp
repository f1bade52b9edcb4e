#include "lab/free_port.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <gtest/gtest.h>
#include <set>

namespace outboard::lab {
namespace {

// CI once lost an etcd member to "address already in use": its port came from bind(0), inside
// the ephemeral range that every outgoing connection also draws from. Ports now come from below
// that range, and one process never gets the same port twice in a row of requests.
TEST(FreePort, ComesFromBelowTheEphemeralRangeAndIsNotRepeated) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned ephemeral_start = 0;
  ASSERT_TRUE(range >> ephemeral_start);
  if (ephemeral_start < 10000 + 4096) GTEST_SKIP() << "no room below the ephemeral range here";
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 100; ++i) {
    auto const port = free_port();
    EXPECT_GE(port, 10000u);
    EXPECT_LT(port, ephemeral_start);
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
  }
}

// A server killed with a connection open leaves it in TIME_WAIT on its port: that port is not
// free for free_port() (another test took such a port during a lab's kill-and-restart gap in CI),
// while the server restarted there (SO_REUSEADDR, as every listener of ours) can still bind it.
TEST(FreePort, APortWhoseServerJustClosedAConnectionIsNotUnused) {
  namespace asio = boost::asio;
  asio::io_context io;
  auto const port = free_port();
  ASSERT_TRUE(port_unused(port));
  asio::ip::tcp::endpoint const at{asio::ip::address_v4::loopback(), port};
  {
    asio::ip::tcp::acceptor server(io, at);  // SO_REUSEADDR, as Asio sets it by default
    asio::ip::tcp::socket client(io);
    client.connect(at);
    asio::ip::tcp::socket accepted = server.accept();
    accepted.close();  // the server's side closes first (as a killed server's does): TIME_WAIT is its
    char byte = 0;
    boost::system::error_code ec;
    client.read_some(asio::buffer(&byte, 1), ec);  // the end of the stream, then the client closes too
    EXPECT_EQ(ec, asio::error::eof);
  }
  EXPECT_FALSE(port_unused(port)) << "port " << port << " has a connection in TIME_WAIT";
  asio::ip::tcp::acceptor restarted(io, at);  // the server itself may come back on it
  EXPECT_TRUE(restarted.is_open());
}

}  // namespace
}  // namespace outboard::lab
