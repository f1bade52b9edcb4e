// The gateway's listen port (io/listener.hpp): a port another process listens on stops start-up
// with exit 1 naming the address, unless both ask to share it (--reuse-port, for seamless restarts).
#include <gtest/gtest.h>

#include <string>

#include "support/gateway_process.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

TEST(GatewayPorts, ASecondGatewayOnABusyPortExitsOneNamingTheAddress) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  GatewayProcess first(o);

  GatewayOptions again = o;
  again.port = first.port();
  again.wait_ready = false;
  GatewayProcess second(again);
  EXPECT_EQ(second.wait_exit(20'000), std::optional<int>(1)) << second.log();
  EXPECT_NE(second.log().find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << second.log();
  EXPECT_TRUE(first.running());
}

TEST(GatewayPorts, ReusePortSharesThePortOnPurpose) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  o.extra_args = {"--reuse-port"};
  GatewayProcess first(o);

  GatewayOptions again = o;
  again.port = first.port();
  GatewayProcess second(again);  // ready: its admin API answers and the shared port accepts
  EXPECT_TRUE(second.running()) << second.log();
  EXPECT_TRUE(first.running());
}

}  // namespace
}  // namespace outboard::testing
