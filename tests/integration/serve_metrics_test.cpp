// serve's /metrics read by the Prometheus text format's rules (support/prometheus_text.hpp):
// every family with HELP and TYPE, stable label sets, `method` a label of its own beside the
// route's template, body byte counters that match what the test sent and received, build and
// process metrics; and /metrics moved to a listener of its own (metrics.listen), off the public
// port.
#include <gtest/gtest.h>

#include <string>

#include "integration/http_expectations.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

double expected_sample(std::map<std::string, double> const& samples, std::string const& series) {
  auto it = samples.find(series);
  EXPECT_NE(it, samples.end()) << "no series " << series;
  return it == samples.end() ? -1 : it->second;
}

TEST(ServeMetrics, AfterTrafficThePageFollowsTheTextFormatAndCountsBytes) {
  ServeProcess serve(ServeOptions{});
  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(c.post("/login", credentials_json("ada", kPassword)).status, 200);
  std::string line = R"({"sku":"sku-001","qty":2})";
  ASSERT_EQ(c.request("POST", "/cart/items", line, {{"Idempotency-Key", "m-1"}}).status, 201);
  std::string blob(5000, 'b');  // streamed to the blob store: counted as the handler reads it
  ASSERT_EQ(c.request("POST", "/uploads", blob, {{"Content-Type", "application/octet-stream"}}).status, 201);
  auto products = c.get("/products");
  ASSERT_EQ(products.status, 200);
  EXPECT_EQ(c.get("/nowhere").status, 404);

  auto page = c.get("/metrics");
  ASSERT_EQ(page.status, 200);
  auto problems = prometheus_text_problems(page.body);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << page.body;

  auto samples = prometheus_samples(page.body);
  EXPECT_EQ(expected_sample(samples, R"(outboard_http_requests_total{route="/cart/items",method="POST",status="201"})"), 1);
  EXPECT_EQ(expected_sample(samples, R"(outboard_http_requests_total{route="other",method="other",status="404"})"), 1);
  EXPECT_EQ(expected_sample(samples, R"(outboard_http_request_bytes_total{route="/cart/items",method="POST"})"),
            static_cast<double>(line.size()));
  EXPECT_EQ(expected_sample(samples, R"(outboard_http_request_bytes_total{route="/uploads",method="POST"})"),
            static_cast<double>(blob.size()));
  EXPECT_EQ(expected_sample(samples, R"(outboard_http_response_bytes_total{route="/products",method="GET"})"),
            static_cast<double>(products.body.size()));
  EXPECT_EQ(expected_sample(samples, R"(outboard_http_request_duration_seconds_count{route="/products",method="GET"})"), 1);
  EXPECT_GT(expected_sample(samples, "process_open_fds"), 0);
  EXPECT_GT(expected_sample(samples, "process_resident_memory_bytes"), 0);
  bool build_info = false;
  for (auto const& [series, value] : samples) {
    build_info = build_info || (series.starts_with("outboard_build_info{") &&
                                series.find(R"(command="serve")") != std::string::npos && value == 1);
  }
  EXPECT_TRUE(build_info) << page.body;
}

TEST(ServeMetrics, MovedToItsOwnListenerAndOffThePublicPort) {
  std::uint16_t metrics_port = free_port();
  ServeOptions options;
  options.name = "metrics-apart";
  options.extra_args = {"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)};
  ServeProcess serve(options);
  HttpClient public_side(serve.port());
  EXPECT_EQ(public_side.get("/products").status, 200);
  expect_json_error(public_side.get("/metrics"), 404);

  HttpClient admin_side(metrics_port);
  auto page = admin_side.get("/metrics");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_TRUE(prometheus_text_problems(page.body).empty()) << page.body;
  // The public request above is counted there.
  EXPECT_EQ(expected_sample(prometheus_samples(page.body), R"(outboard_http_requests_total{route="/products",method="GET",status="200"})"),
            1);
  // Nothing else is served on the metrics listener.
  expect_json_error(admin_side.get("/products"), 404);
}

}  // namespace
}  // namespace outboard::testing
