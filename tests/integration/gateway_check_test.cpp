// `outboard gateway --check`: validates the file, the environment and the flags as a start would,
// prints the effective settings with where each came from (a secret hidden), and exits 0 or 2
// without binding anything.
#include <gtest/gtest.h>

#include <string>

#include "support/gateway_process.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

TEST(GatewayCheck, PrintsWhereEachValueCameFromHidesTheSecretAndBindsNothing) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  o.port = a.port();  // busy: a gateway that tried to bind it would exit 1
  o.config = "[health]\ninterval_ms = 250\n";
  o.env = {{"OUTBOARD_GATEWAY_STICKY_KEY", "a-sticky-key-long-enough-1234"}};
  o.extra_args = {"--check"};
  o.wait_ready = false;
  GatewayProcess gateway(o);
  ASSERT_EQ(gateway.wait_exit(20'000), std::optional<int>(0)) << gateway.log();
  std::string out = gateway.log();
  EXPECT_NE(out.find("health.interval_ms = 250"), std::string::npos) << out;
  EXPECT_NE(out.find("gateway.toml:2"), std::string::npos) << out;
  EXPECT_NE(out.find("pool.backends = [\"" + a.address() + "\"]"), std::string::npos) << out;
  EXPECT_NE(out.find("health.panic_threshold_percent = 50"), std::string::npos) << out;
  EXPECT_EQ(out.find("a-sticky-key-long-enough-1234"), std::string::npos) << "the secret was printed:\n" << out;
  EXPECT_FALSE(std::filesystem::exists(gateway.admin_token_path())) << "--check created the admin token file";
}

TEST(GatewayCheck, ABadKeyExitsTwoNamingTheFileAndLine) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  o.config = "[health]\ninterval_ms = 250\npanic_treshold_percent = 10\n";
  o.extra_args = {"--check"};
  o.wait_ready = false;
  GatewayProcess gateway(o);
  ASSERT_EQ(gateway.wait_exit(20'000), std::optional<int>(2)) << gateway.log();
  EXPECT_NE(gateway.log().find("gateway.toml:3"), std::string::npos) << gateway.log();
}

// One env file configures every command: the first scheme's bare names are refused, naming the
// new one, so a stale deployment file fails loudly instead of being ignored.
TEST(GatewayCheck, AnOldVariableNameIsRefusedNamingTheNewOne) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  o.env = {{"OUTBOARD_LISTEN", "127.0.0.1:1"}, {"OUTBOARD_SERVE_SERVER_PORT", "9"}};
  o.extra_args = {"--check"};
  o.wait_ready = false;
  GatewayProcess gateway(o);
  ASSERT_EQ(gateway.wait_exit(20'000), std::optional<int>(2)) << gateway.log();
  EXPECT_NE(gateway.log().find("OUTBOARD_LISTEN: renamed; use OUTBOARD_GATEWAY_LISTEN"), std::string::npos)
      << gateway.log();
}

}  // namespace
}  // namespace outboard::testing
