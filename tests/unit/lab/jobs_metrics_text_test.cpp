// Reading the servers' /metrics (src/lab/metrics_text.hpp): the numbers the lab's mid-job target
// and its jobs and replay counts come from.
#include "lab/metrics_text.hpp"

#include <gtest/gtest.h>

namespace outboard::lab {
namespace {

constexpr std::string_view kPage =
    "# HELP outboard_jobs_in_flight Jobs this process is running now.\n"
    "# TYPE outboard_jobs_in_flight gauge\n"
    "outboard_jobs_in_flight{type=\"receipt\"} 2\n"
    "outboard_jobs_in_flight{type=\"tick\"} 1\n"
    "outboard_jobs_in_flight_max 9\n"
    "outboard_jobs_lease_losses_total{type=\"receipt\"} 0\n"
    "outboard_idempotency_requests_total{outcome=\"replayed\"} 17\n"
    "outboard_up 1";

TEST(JobsMetricsText, AFamilyIsSummedOverItsLabelsAndNotOverFamiliesItPrefixes) {
  EXPECT_EQ(family_sum(kPage, "outboard_jobs_in_flight"), 3);
  EXPECT_EQ(family_sum(kPage, "outboard_jobs_lease_losses_total"), 0);
  EXPECT_EQ(family_sum(kPage, "outboard_jobs_fenced_writes_refused_total"), 0);  // none yet: no family
  EXPECT_EQ(family_sum(kPage, "outboard_up"), 1);                                // unlabelled, last line
  EXPECT_EQ(family_sum("outboard_jobs_in_flight 4\n", "outboard_jobs_in_flight"), 4);  // the first line
  // A name inside a comment or another line is not a sample.
  EXPECT_EQ(family_sum("# outboard_jobs_in_flight 5\nx_outboard_jobs_in_flight 6\n", "outboard_jobs_in_flight"), 0);
}

TEST(JobsMetricsText, OneSeriesIsReadWithItsLabelsAsWritten) {
  EXPECT_EQ(series_value(kPage, "outboard_idempotency_requests_total{outcome=\"replayed\"}"), 17);
  EXPECT_EQ(series_value(kPage, "outboard_jobs_in_flight_max"), 9);
  EXPECT_EQ(series_value(kPage, "outboard_up"), 1);
  EXPECT_FALSE(series_value(kPage, "outboard_jobs_in_flight"));  // only labelled samples
  EXPECT_FALSE(series_value(kPage, "outboard_missing"));
}

}  // namespace
}  // namespace outboard::lab
