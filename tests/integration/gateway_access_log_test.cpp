// `outboard gateway --access-log`: one JSON line per request on stdout, for the requests it
// forwards and for the answers it gives itself (refused requests, no backend), which an
// operator needs most. Regression: the gateway's own answers used to be counted but not logged.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "support/free_port.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

// The access-log line whose `target` is `target` (the log is read until it shows up: bounded).
json line_for(GatewayProcess const& gateway, std::string const& target) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::istringstream log(gateway.log());
    for (std::string line; std::getline(log, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("target", "") == target) return j;
    }
    if (std::chrono::steady_clock::now() > deadline) return json();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(GatewayAccessLog, ForwardedAndRefusedRequestsBothGetALine) {
  TestBackend backend("logged");
  GatewayOptions o;
  o.backends = {backend.address()};
  o.extra_args = {"--access-log"};
  o.env = {{"OUTBOARD_GATEWAY_LIMITS_MAX_BODY_BYTES", "100"}};
  GatewayProcess gateway(o);

  HttpClient client(gateway.port());
  ASSERT_EQ(client.get("/forwarded").status, 200);
  json forwarded = line_for(gateway, "/forwarded");
  ASSERT_TRUE(forwarded.is_object()) << gateway.log();
  EXPECT_EQ(forwarded.value("status", 0), 200);
  EXPECT_EQ(forwarded.value("backend", ""), backend.address());

  auto refused = client.post("/too-big", std::string(1000, 'x'));
  ASSERT_EQ(refused.status, 413);
  json too_big = line_for(gateway, "/too-big");
  ASSERT_TRUE(too_big.is_object()) << "no access-log line for the 413:\n" << gateway.log();
  EXPECT_EQ(too_big.value("status", 0), 413);
  EXPECT_EQ(too_big.value("method", ""), "POST");
  EXPECT_EQ(too_big.value("error", ""), "payload_too_large");
  EXPECT_TRUE(too_big.at("backend").is_null());
}

TEST(GatewayAccessLog, NoBackendAnswerIsLogged) {
  GatewayOptions o;
  o.backends = {"127.0.0.1:" + std::to_string(free_port())};  // nobody listens there
  o.extra_args = {"--access-log"};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());
  auto answer = client.get("/nobody-home");
  ASSERT_GE(answer.status, 500);
  json line = line_for(gateway, "/nobody-home");
  ASSERT_TRUE(line.is_object()) << "no access-log line for the " << answer.status << ":\n" << gateway.log();
  EXPECT_EQ(line.value("status", 0), answer.status);
  EXPECT_FALSE(line.value("error", "").empty()) << line.dump();
}

}  // namespace
}  // namespace outboard::testing
