// The checker the serve and gateway /metrics tests rely on: it must accept a valid page and name
// each broken rule, or those tests could pass on a page Prometheus would misread.
#include "support/prometheus_text.hpp"

#include <gtest/gtest.h>

namespace outboard::testing {
namespace {

constexpr char kValid[] =
    "# HELP a_total Things.\n# TYPE a_total counter\na_total{method=\"GET\",route=\"/x\"} 3\n"
    "a_total{method=\"POST\",route=\"/y\\\"q\\\"\"} 1\n\n"
    "# HELP lat Latency.\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 2\n"
    "lat_sum 0.3\nlat_count 2\n# HELP up Up.\n# TYPE up gauge\nup 1\n";

std::string problems_of(std::string const& text) {
  std::string out;
  for (auto const& p : prometheus_text_problems(text)) out += p + "\n";
  return out;
}

TEST(PrometheusText, AValidPageHasNoProblemsAndItsSamplesAreRead) {
  EXPECT_EQ(problems_of(kValid), "");
  auto samples = prometheus_samples(kValid);
  EXPECT_EQ(samples.at("a_total{method=\"GET\",route=\"/x\"}"), 3);
  EXPECT_EQ(samples.at("lat_count"), 2);
}

TEST(PrometheusText, EachBrokenRuleIsNamed) {
  struct Case {
    std::string text;
    std::string expected;
  };
  std::vector<Case> cases{
      {"# TYPE x counter\nx 1\n", "without a HELP line"},
      {"# HELP x X.\nx 1\n", "without a TYPE line"},
      {"# HELP x X.\n# TYPE x counter\n# TYPE x counter\nx 1\n", "second TYPE"},
      {"# HELP x X.\nx 1\n# TYPE x counter\n", "after its samples"},
      {"# HELP x X.\n# TYPE x gauge\nx 1\n# HELP y Y.\n# TYPE y gauge\ny 1\nx{a=\"b\"} 2\n", "not contiguous"},
      {"# HELP x X.\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n", "series twice"},
      {"# HELP x X.\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\",state=\"up\"} 2\n", "label names differ"},
      {"# HELP x X.\n# TYPE x gauge\nx{a=1} 1\n", "not quoted"},
      {"# HELP x X.\n# TYPE x gauge\nx{a=\"\\t\"} 1\n", "bad escape"},
      {"# HELP x X.\n# TYPE x gauge\nx one\n", "invalid value"},
      {"# HELP 1x X.\n# TYPE 1x gauge\n", "invalid metric name"},
      {"# HELP h H.\n# TYPE h histogram\nh_bucket 1\n", "without 'le'"},
      {"# HELP x X.\n# TYPE x counting\nx 1\n", "unknown type"},
  };
  for (auto const& c : cases) {
    EXPECT_NE(problems_of(c.text).find(c.expected), std::string::npos) << c.text << "\ngot: " << problems_of(c.text);
  }
}

}  // namespace
}  // namespace outboard::testing
