#include "lab/free_port.hpp"

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

}  // namespace
}  // namespace outboard::lab
