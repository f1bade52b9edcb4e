// Which address per-client limits count: X-Forwarded-For believed only as far as trusted
// proxies wrote it.
#include <gtest/gtest.h>

#include "runtime/client_address.hpp"

namespace outboard::runtime {
namespace {

namespace ip = boost::asio::ip;

core::AddressBlocks blocks(std::vector<std::string> const& texts) {
  core::AddressBlocks out;
  for (auto const& t : texts) EXPECT_EQ(out.add(t), std::nullopt) << t;
  return out;
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItsHeaderSays) {
  auto trusted = blocks({"127.0.0.0/8"});
  EXPECT_EQ(client_address(ip::make_address("203.0.113.7"), "198.51.100.1", trusted), "203.0.113.7");
}

TEST(ClientAddress, ATrustedPeerIsBelievedUpToTheFirstUntrustedHop) {
  auto trusted = blocks({"127.0.0.0/8", "10.0.0.0/8"});
  auto gateway = ip::make_address("127.0.0.1");
  // The client forged the leftmost entry; our proxies appended the rest.
  EXPECT_EQ(client_address(gateway, "1.2.3.4, 203.0.113.7, 10.0.0.5", trusted), "203.0.113.7");
  EXPECT_EQ(client_address(gateway, "203.0.113.7", trusted), "203.0.113.7");
  // No header: the proxy itself is all we know.
  EXPECT_EQ(client_address(gateway, "", trusted), "127.0.0.1");
  // Every hop ours (the lab on loopback): the leftmost.
  EXPECT_EQ(client_address(gateway, "127.0.0.1", trusted), "127.0.0.1");
  // Garbage beyond our proxies: the last address we could read.
  EXPECT_EQ(client_address(gateway, "not-an-ip, 10.0.0.5", trusted), "10.0.0.5");
}

TEST(ClientAddress, NoTrustedProxiesMeansTheHeaderIsIgnored) {
  EXPECT_EQ(client_address(ip::make_address("127.0.0.1"), "203.0.113.7", {}), "127.0.0.1");
}

TEST(ClientAddress, AnUnknownPeerIsOneBucket) {
  EXPECT_EQ(client_address(std::nullopt, "203.0.113.7", blocks({"0.0.0.0/0"})), "unknown");
}

TEST(ClientAddress, V4MappedPeersAreTheirV4Address) {
  EXPECT_EQ(client_address(ip::make_address("::ffff:203.0.113.7"), "", {}), "203.0.113.7");
}

}  // namespace
}  // namespace outboard::runtime
