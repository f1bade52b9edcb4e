// The gateway's /metrics page by the Prometheus text format's rules (support/prometheus_text.hpp):
// HELP and TYPE on every family, stable label sets (a backend's state never becomes a new series),
// the method as its own label, and the process's own families.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "gateway/backend_pool.hpp"
#include "gateway/gateway_metrics.hpp"
#include "support/prometheus_text.hpp"

namespace outboard::gateway {
namespace {

using testing::prometheus_samples;
using testing::prometheus_text_problems;

std::string joined(std::vector<std::string> const& lines) {
  std::string out;
  for (auto const& l : lines) out += l + "\n";
  return out;
}

TEST(GatewayMetrics, ThePageFollowsTheTextFormatWithBackendsInEveryState) {
  core::ManualClock clock;
  BackendPool pool(clock);
  pool.replace({{{"127.0.0.1", 1}, 1}, {{"127.0.0.1", 2}, 1}, {{"127.0.0.1", 3}, 1}});
  pool.find("127.0.0.1:2")->set_draining(true);
  pool.find("127.0.0.1:3")->record_check(false, 1, 1, clock.now_ms());
  GatewayMetrics metrics;
  metrics.observe("GET", 200, 0.002);
  metrics.observe("POST", 503, 0.1);
  metrics.observe("BREW", 404, 0.1);

  std::string page = metrics.render(pool, clock.now_ms());
  auto problems = prometheus_text_problems(page);
  EXPECT_TRUE(problems.empty()) << joined(problems) << "\n" << page;

  auto samples = prometheus_samples(page);
  EXPECT_EQ(samples["outboard_gateway_responses_total{method=\"GET\",class=\"2xx\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_responses_total{method=\"POST\",class=\"5xx\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_responses_total{method=\"OTHER\",class=\"4xx\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_backend_up{backend=\"127.0.0.1:1\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_backend_up{backend=\"127.0.0.1:2\"}"], 0);
  EXPECT_EQ(samples["outboard_gateway_backend_state{backend=\"127.0.0.1:2\",state=\"draining\"}"], 1);
  EXPECT_EQ(samples["outboard_gateway_backend_state{backend=\"127.0.0.1:2\",state=\"up\"}"], 0);
  EXPECT_EQ(samples["outboard_gateway_backend_state{backend=\"127.0.0.1:3\",state=\"down\"}"], 1);
  // Every state of every backend is a series, whatever state it is in.
  for (char const* state : {"up", "down", "ejected", "draining"}) {
    for (char const* b : {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}) {
      std::string series = std::string("outboard_gateway_backend_state{backend=\"") + b + "\",state=\"" + state + "\"}";
      EXPECT_EQ(samples.count(series), 1u) << series;
    }
  }
  bool build_info = false;
  for (auto const& [series, value] : samples) {
    if (series.starts_with("outboard_build_info{") && series.find("command=\"gateway\"") != std::string::npos) build_info = true;
  }
  EXPECT_TRUE(build_info) << "no outboard_build_info{command=\"gateway\"}";
  EXPECT_EQ(samples.count("process_cpu_seconds_total"), 1u) << "no process metrics on the page";
}

TEST(GatewayMetrics, UnknownMethodsShareOneLabel) {
  EXPECT_EQ(kMetricMethods[method_slot("GET")], "GET");
  EXPECT_EQ(kMetricMethods[method_slot("DELETE")], "DELETE");
  EXPECT_EQ(kMetricMethods[method_slot("PROPFIND")], "OTHER");
  EXPECT_EQ(kMetricMethods[method_slot("get")], "OTHER");
}

}  // namespace
}  // namespace outboard::gateway
