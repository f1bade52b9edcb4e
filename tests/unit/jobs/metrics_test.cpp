// The runner's /metrics families (jobs/metrics.hpp): a page Prometheus reads, one series per type
// and task, the queue gauges as last sampled.
#include "jobs/metrics.hpp"

#include <gtest/gtest.h>

#include "support/prometheus_text.hpp"

namespace outboard::jobs {
namespace {

TEST(JobMetrics, RendersAValidPageWithASeriesPerTypeAndTask) {
  JobMetrics m;
  m.type("receipt").completed = 3;
  m.type("receipt").fenced_writes_refused = 1;
  m.type("tick").in_flight = 2;
  m.task("expire-carts").ticks_run = 5;
  m.task("expire-carts").ticks_skipped = 4;
  m.set_queue_counts({7, 1, 2, 9});
  std::string page;
  m.render(page);

  EXPECT_TRUE(testing::prometheus_text_problems(page).empty()) << page;
  auto samples = testing::prometheus_samples(page);
  EXPECT_EQ(samples.at("outboard_jobs_completed_total{type=\"receipt\"}"), 3);
  EXPECT_EQ(samples.at("outboard_jobs_completed_total{type=\"tick\"}"), 0);
  EXPECT_EQ(samples.at("outboard_jobs_fenced_writes_refused_total{type=\"receipt\"}"), 1);
  EXPECT_EQ(samples.at("outboard_jobs_in_flight{type=\"tick\"}"), 2);
  EXPECT_EQ(samples.at("outboard_jobs_ticks_run_total{task=\"expire-carts\"}"), 5);
  EXPECT_EQ(samples.at("outboard_jobs_ticks_skipped_total{task=\"expire-carts\"}"), 4);
  EXPECT_EQ(samples.at("outboard_jobs_ready"), 7);
  EXPECT_EQ(samples.at("outboard_jobs_delayed"), 1);
  EXPECT_EQ(samples.at("outboard_jobs_running"), 2);
  EXPECT_EQ(samples.at("outboard_jobs_dead"), 9);
}

TEST(JobMetrics, AFamilyWithoutSeriesIsLeftOut) {
  JobMetrics m;
  std::string page;
  m.render(page);
  EXPECT_TRUE(testing::prometheus_text_problems(page).empty()) << page;
  EXPECT_EQ(page.find("outboard_jobs_completed_total"), std::string::npos);
  EXPECT_NE(page.find("outboard_jobs_ready 0"), std::string::npos);
}

}  // namespace
}  // namespace outboard::jobs
