// Who may listen on serve's port. Worker threads share it through SO_REUSEPORT, which would also
// let a second process of the same user join silently and take part of the traffic (a stale or
// memory:// instance hiding behind a healthy one). So a port held by another process is an error
// naming the address (exit 1), and sharing between processes is only by asking: --reuse-port.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/http_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

TEST(ServePorts, ASecondServeOnABusyPortExitsOneNamingTheAddress) {
  ServeOptions options;
  options.name = "first";
  ServeProcess first(options);
  std::string port = std::to_string(first.port());

  auto second = run_outboard({"serve", "--state", "memory://", "--kdf", "min", "--threads", "2", "--port", port});
  ASSERT_TRUE(second.exit_code.has_value()) << "the second serve kept running on a busy port:\n" << second.output;
  EXPECT_EQ(*second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("127.0.0.1:" + port), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("already in use"), std::string::npos) << second.output;
  // The first one still has the port to itself.
  HttpClient client(first.port());
  auto res = client.get("/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("X-Served-By"), first.instance());
}

// A seamless restart: the new process joins the port, then the old one can be drained.
TEST(ServePorts, WithReusePortOnBothBothServeThePort) {
  ServeOptions options;
  options.name = "old";
  options.extra_args = {"--reuse-port"};
  ServeProcess old_one(options);
  options.name = "new";
  options.port = old_one.port();
  ServeProcess new_one(options);  // returns once its own instance answered /healthz on the port
  EXPECT_TRUE(old_one.running());
  EXPECT_TRUE(new_one.running());

  // The kernel spreads new connections over both processes' acceptors: both answer (bounded).
  std::set<std::string> seen;
  for (int i = 0; i < 400 && seen.size() < 2; ++i) {
    HttpClient client(old_one.port());
    seen.insert(client.get("/healthz").header("X-Served-By").value_or(""));
  }
  EXPECT_EQ(seen, (std::set<std::string>{old_one.instance(), new_one.instance()}));
}

}  // namespace
}  // namespace outboard::testing
