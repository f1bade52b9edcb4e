// The job queue's cases (job_queue_cases.hpp) on memory and sqlite, every one of them (both run
// on the test's ManualClock); redis runs the ones that do not travel in time in
// job_queue_redistest.cpp. On sqlite the harness's store is a provider of its own (its own
// connections), so every fence it reads is what another process would see. Also: which URLs
// have a queue, and the states' names.
#include <gtest/gtest.h>

#include <stdexcept>

#include "job_queue_cases.hpp"
#include "support/param_name.hpp"

namespace outboard::state {
namespace {

class JobQueueConformance : public ::testing::TestWithParam<std::string>, protected job_testing::JobQueueHarness {
 protected:
  JobQueueConformance() : JobQueueHarness(GetParam()) {}
};

TEST_P(JobQueueConformance, EnqueueDedupesByTypeAndKey) { enqueue_dedupes_by_type_and_key(); }
TEST_P(JobQueueConformance, ClaimSetsTheFenceAndWritesTheFenceKey) { claim_sets_the_fence_and_writes_the_fence_key(); }
TEST_P(JobQueueConformance, AStaleFenceIsRefused) { a_stale_fence_is_refused(); }
TEST_P(JobQueueConformance, TypesFilterTheClaim) { types_filter_the_claim(); }
TEST_P(JobQueueConformance, InvalidSpecsAreRefused) { invalid_specs_are_refused(); }
TEST_P(JobQueueConformance, ExhaustedAttemptsGoToTheDeadLetters) { exhausted_attempts_go_to_the_dead_letters(); }
TEST_P(JobQueueConformance, FailWithoutRetryIsDeadAtOnce) { fail_without_retry_is_dead_at_once(); }
TEST_P(JobQueueConformance, DeadLettersCanBeRetriedAndDropped) { dead_letters_can_be_retried_and_dropped(); }
TEST_P(JobQueueConformance, TwoProvidersNeverClaimOneJobTwice) { two_providers_never_claim_one_job_twice(); }
TEST_P(JobQueueConformance, ClaimsComeInRunAtOrder) { claims_come_in_run_at_order(); }
TEST_P(JobQueueConformance, ADelayedJobWaitsForItsTime) { a_delayed_job_waits_for_its_time(); }
TEST_P(JobQueueConformance, AClaimWhoseLeaseRanOutIsClaimedAgainWithTheNextFence) {
  a_claim_whose_lease_ran_out_is_claimed_again_with_the_next_fence();
}
TEST_P(JobQueueConformance, RenewExtendsTheLease) { renew_extends_the_lease(); }
TEST_P(JobQueueConformance, FailWithRetryWaitsAndCountsTheAttempt) { fail_with_retry_waits_and_counts_the_attempt(); }
TEST_P(JobQueueConformance, ALeaseRunningOutOnTheLastAttemptIsDead) { a_lease_running_out_on_the_last_attempt_is_dead(); }
TEST_P(JobQueueConformance, CountsByState) { counts_by_state(); }
TEST_P(JobQueueConformance, ADoneJobIsADuplicateUntilDoneTtl) { a_done_job_is_a_duplicate_until_done_ttl(); }

INSTANTIATE_TEST_SUITE_P(Backends, JobQueueConformance, ::testing::Values("memory", "sqlite"),
                         testing::ParamName{});

TEST(OpenJobQueue, ABlobUrlHasNoQueue) {
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  auto store = open_store("memory://", options);
  EXPECT_THROW(open_job_queue("file:///tmp/blobs", *store, options, {}), std::invalid_argument);
  EXPECT_THROW(open_job_queue("nonsense", *store, options, {}), std::invalid_argument);
  EXPECT_EQ(open_job_queue("memory://", *store, options, {})->backend(), "memory");
}

TEST(JobStateNames, EveryStateHasItsName) {
  EXPECT_EQ(to_string(JobState::waiting), "waiting");
  EXPECT_EQ(to_string(JobState::running), "running");
  EXPECT_EQ(to_string(JobState::done), "done");
  EXPECT_EQ(to_string(JobState::dead), "dead");
}

}  // namespace
}  // namespace outboard::state
