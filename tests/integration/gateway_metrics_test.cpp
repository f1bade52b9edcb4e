// The gateway's /metrics after real traffic, read by the Prometheus text format's rules
// (support/prometheus_text.hpp), and its byte counters against what the test itself sent.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

std::map<std::string, double> scrape(GatewayProcess const& gateway) {
  return prometheus_samples(gateway.admin("GET", "/metrics").body);
}

TEST(GatewayMetrics, AfterTrafficEveryFamilyFollowsTheTextFormatAndBytesAreCounted) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());
  std::string body(20'000, 'x');
  ASSERT_EQ(client.get("/").status, 200);
  auto echoed = client.post("/echo", body);
  ASSERT_EQ(echoed.status, 200);
  ASSERT_GE(echoed.body.size(), body.size());
  ASSERT_EQ(client.request("DELETE", "/status/404").status, 404);

  auto page = gateway.admin("GET", "/metrics").body;
  auto problems = prometheus_text_problems(page);
  std::string listed;
  for (auto const& p : problems) listed += p + "\n";
  EXPECT_TRUE(problems.empty()) << listed << page;

  // Bytes are added when a request ends, on the gateway's thread: wait for them to show.
  std::map<std::string, double> samples;
  EXPECT_TRUE(wait_until([&] {
    samples = scrape(gateway);
    return samples["outboard_gateway_client_received_bytes_total"] >= static_cast<double>(body.size()) &&
           samples["outboard_gateway_backend_sent_bytes_total"] >= static_cast<double>(body.size()) &&
           samples["outboard_gateway_backend_received_bytes_total"] >= static_cast<double>(echoed.body.size()) &&
           samples["outboard_gateway_client_sent_bytes_total"] >= static_cast<double>(echoed.body.size());
  }, 10s)) << "byte counters: client in " << samples["outboard_gateway_client_received_bytes_total"] << ", client out "
           << samples["outboard_gateway_client_sent_bytes_total"] << ", backend out "
           << samples["outboard_gateway_backend_sent_bytes_total"] << ", backend in "
           << samples["outboard_gateway_backend_received_bytes_total"] << " after a " << body.size()
           << "-byte body and a " << echoed.body.size() << "-byte answer";
  EXPECT_EQ(samples["outboard_gateway_responses_total{method=\"GET\",class=\"2xx\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_responses_total{method=\"POST\",class=\"2xx\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_responses_total{method=\"DELETE\",class=\"4xx\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_backend_up{backend=\"" + a.address() + "\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_backend_state{backend=\"" + a.address() + "\",state=\"up\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_backend_state{backend=\"" + a.address() + "\",state=\"down\"}"], 0);
}

}  // namespace
}  // namespace outboard::testing
