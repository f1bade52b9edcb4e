// io/listener.hpp: the rules of one port shared by one process's worker threads.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "io/listener.hpp"

namespace outboard::io {
namespace {

using tcp = boost::asio::ip::tcp;

// The check against other processes must not refuse this process's own threads: the second
// acceptor joins the port the first one holds.
TEST(Listener, ThreadsOfOneProcessShareThePort) {
  boost::asio::io_context io;
  tcp::acceptor first(io), second(io), third(io);
  auto port = listen_reuseport(first, "127.0.0.1", 0);
  ASSERT_NE(port, 0);
  EXPECT_EQ(listen_reuseport(second, "127.0.0.1", port), port);
  EXPECT_EQ(listen_reuseport(third, "127.0.0.1", port, true), port);
}

TEST(Listener, AnAddressThatIsNotAnIpIsNamedInTheError) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io);
  try {
    listen_reuseport(acceptor, "localhost", 0);
    FAIL() << "no error";
  } catch (std::runtime_error const& e) {
    EXPECT_NE(std::string(e.what()).find("'localhost'"), std::string::npos) << e.what();
  }
}

TEST(Listener, ParseListenEndpoint) {
  auto v4 = parse_listen_endpoint("127.0.0.1:9100");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->address().to_string(), "127.0.0.1");
  EXPECT_EQ(v4->port(), 9100);
  auto v6 = parse_listen_endpoint("[::1]:9100");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->address().is_v6());
  EXPECT_EQ(v6->port(), 9100);
  for (char const* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:9x",
                          "localhost:9100", "::1:9100", ":9100", "[::1]"}) {
    EXPECT_FALSE(parse_listen_endpoint(bad)) << bad;
  }
}

}  // namespace
}  // namespace outboard::io
