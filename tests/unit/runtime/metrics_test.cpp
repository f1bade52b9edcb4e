// runtime/metrics.hpp: the page follows the Prometheus text format (support/prometheus_text.hpp)
// before any traffic and after some, with the method a label of its own.
#include <gtest/gtest.h>

#include "runtime/metrics.hpp"
#include "support/prometheus_text.hpp"

namespace outboard::runtime {
namespace {

ServiceMetrics make_metrics() {
  return ServiceMetrics({{"POST", "/cart/items"}, {"GET", "/orders/{id}"}}, {"sessions", "data"}, 2);
}

TEST(ServiceMetrics, AnUntouchedPageFollowsTheTextFormat) {
  auto metrics = make_metrics();
  auto page = metrics.render();
  EXPECT_TRUE(testing::prometheus_text_problems(page).empty()) << page;
}

TEST(ServiceMetrics, CountsByRouteTemplateAndMethodAcrossShards) {
  auto metrics = make_metrics();
  ServiceMetrics::count_request(metrics.shard(0), 0, 201, 0.001, 25, 40);
  ServiceMetrics::count_request(metrics.shard(1), 0, 201, 0.002, 30, 40);
  ServiceMetrics::count_request(metrics.shard(1), -1, 404, 0.0, 0, 60);
  ServiceMetrics::count_store(metrics.shard(0), metrics.store_index("data"), 1, 0.0005, true);
  auto page = metrics.render();
  auto problems = testing::prometheus_text_problems(page);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << page;
  auto samples = testing::prometheus_samples(page);
  EXPECT_EQ(samples[R"(outboard_http_requests_total{route="/cart/items",method="POST",status="201"})"], 2);
  EXPECT_EQ(samples[R"(outboard_http_requests_total{route="other",method="other",status="404"})"], 1);
  EXPECT_EQ(samples[R"(outboard_http_request_bytes_total{route="/cart/items",method="POST"})"], 55);
  EXPECT_EQ(samples[R"(outboard_http_response_bytes_total{route="/cart/items",method="POST"})"], 80);
  EXPECT_EQ(samples[R"(outboard_http_response_bytes_total{route="other",method="other"})"], 60);
  EXPECT_EQ(samples[R"(outboard_store_errors_total{store="data",op="get"})"], 1);
}

}  // namespace
}  // namespace outboard::runtime
