// The job queue's cases (job_queue_cases.hpp) on the shared PostgreSQL, those that do not travel
// in time; then what only postgres has. Leases and delays run on the database's clock
// (clock_timestamp(), inside the functions), so here a lease is tiny (50 ms) and its end is
// waited for as an EVENT: claim() polled until it hands the job out again, bounded by a count,
// never by a time. The harness's ManualClock stays frozen: were the queue to read it, no lease
// would ever run out.
//
// A TEST_P suite with the one param "postgres", so its names end in "/postgres" and ctest runs it
// in the shared-engine group (state_tests.postgres, one process, one PostgreSQL).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "support/param_name.hpp"
#include "job_queue_cases.hpp"
#include "support/postgres_server.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;

constexpr Millis kPgTinyLease{50};
constexpr Millis kPgLongLease{60'000};
// Polls while a few tens of ms pass on the database's clock: each is a round trip, so this bounds
// a hang (many seconds), never the time waited for.
constexpr int kPgMaxPolls = 100'000;

class JobQueuePostgres : public ::testing::TestWithParam<std::string>, protected job_testing::JobQueueHarness {
 protected:
  // The shared server's initdb and start-up are paid here, not by whichever test runs first.
  static void SetUpTestSuite() { testing::shared_postgres(); }

  JobQueuePostgres() : JobQueueHarness(GetParam()) {}

  // The database's clock, read by a client of the test's own.
  static std::int64_t db_now_ms() {
    return std::stoll(testing::shared_postgres().psql("SELECT outboard_now_ms()"));
  }

  // A second provider on the same URL: another process, with its own connections.
  std::shared_ptr<JobQueue> another_process() {
    other_ = open_job_queue(url(), *store_provider_, store_options_, queue_options_);
    return other_->queue_for(io_.get_executor());
  }

  std::unique_ptr<JobQueueProvider> other_;
};

TEST_P(JobQueuePostgres, EnqueueDedupesByTypeAndKey) { enqueue_dedupes_by_type_and_key(); }
TEST_P(JobQueuePostgres, ClaimSetsTheFenceAndWritesTheFenceKey) { claim_sets_the_fence_and_writes_the_fence_key(); }
TEST_P(JobQueuePostgres, AStaleFenceIsRefused) { a_stale_fence_is_refused(); }
TEST_P(JobQueuePostgres, TypesFilterTheClaim) { types_filter_the_claim(); }
TEST_P(JobQueuePostgres, InvalidSpecsAreRefused) { invalid_specs_are_refused(); }
TEST_P(JobQueuePostgres, ExhaustedAttemptsGoToTheDeadLetters) { exhausted_attempts_go_to_the_dead_letters(); }
TEST_P(JobQueuePostgres, FailWithoutRetryIsDeadAtOnce) { fail_without_retry_is_dead_at_once(); }
TEST_P(JobQueuePostgres, DeadLettersCanBeRetriedAndDropped) { dead_letters_can_be_retried_and_dropped(); }
TEST_P(JobQueuePostgres, TwoProvidersNeverClaimOneJobTwice) { two_providers_never_claim_one_job_twice(); }

// --- postgres only ---

// Worker A's lease runs out on the database's clock; B, another process, claims the job with
// fence 2 and the store's fence key reads "2"; A can no longer renew, fail, complete or commit
// through the postgres store's fenced commit_if. Done, the fence key expires after done_ttl.
TEST_P(JobQueuePostgres, AfterTheLeaseRanOutAnotherProcessClaimsWithFence2) {
  JobQueueOptions options;
  options.done_ttl = 60'000ms;
  open(options);
  auto b = another_process();
  std::string const id = enqueue("mail", "order-1").id;

  std::int64_t const before = db_now_ms();
  auto first = claim({"mail"}, "worker-a", kPgTinyLease);
  std::int64_t const after = db_now_ms();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->fence, 1);
  auto held = get(id);
  ASSERT_TRUE(held.has_value());
  EXPECT_GE(held->lease_until_ms, before + kPgTinyLease.count());  // counted on the database's clock
  EXPECT_LE(held->lease_until_ms, after + kPgTinyLease.count());

  std::optional<Claim> second;
  for (int i = 0; i < kPgMaxPolls && !second; ++i) second = run(b->claim({"mail"}, "worker-b", kPgLongLease));
  ASSERT_TRUE(second.has_value()) << "the 50 ms lease never ran out";
  EXPECT_EQ(second->id, id);
  EXPECT_EQ(second->fence, 2);
  EXPECT_EQ(second->attempt, 2);
  EXPECT_EQ(fence_in_store(id), "2");

  EXPECT_FALSE(renew(id, 1));
  EXPECT_FALSE(fail(id, 1, "late", 0ms));
  EXPECT_FALSE(complete(id, 1));
  EXPECT_FALSE(commit_fenced(id, 1, "effect"));
  EXPECT_EQ(run(store_->get("effect")), std::nullopt);
  EXPECT_TRUE(commit_fenced(id, 2, "effect"));
  EXPECT_TRUE(run(b->complete(id, 2)));

  EXPECT_EQ(state_of(id), JobState::done);
  std::int64_t left = run(store_->pttl(fence_key(id)));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 60'000);
}

// A lease that runs out on the job's last attempt sends it to the dead-letter list.
TEST_P(JobQueuePostgres, ALeaseRunOutOnTheLastAttemptIsDeadWithLeaseExpired) {
  open();
  std::string const id = enqueue("mail", "order-2", 0ms, 1).id;
  ASSERT_TRUE(claim({"mail"}, "w", kPgTinyLease).has_value());
  std::optional<JobInfo> info;
  for (int i = 0; i < kPgMaxPolls; ++i) {
    EXPECT_EQ(claim({"mail"}), std::nullopt);  // never handed out again
    info = get(id);
    if (!info || info->state != JobState::running) break;
  }
  ASSERT_TRUE(info.has_value());
  ASSERT_EQ(info->state, JobState::dead);
  EXPECT_EQ(info->last_error, "lease expired");
  EXPECT_EQ(dead_ids(), (std::vector<std::string>{id}));
}

// Delays and retries are counted on the database's clock, and once due, jobs of several types
// come in run_at order (ties by id).
TEST_P(JobQueuePostgres, DelaysRunOnTheDatabaseClockAndDueJobsComeInRunAtOrder) {
  open();
  std::int64_t const before = db_now_ms();
  enqueue("t", "late", 150ms);
  enqueue("t", "early", 50ms);
  enqueue("u", "other-type", 75ms);
  enqueue("t", "middle", 100ms);
  std::int64_t const after = db_now_ms();
  auto late = get("t:late");
  ASSERT_TRUE(late.has_value());
  EXPECT_GE(late->run_at_ms, before + 150);
  EXPECT_LE(late->run_at_ms, after + 150);

  JobCounts n;
  for (int i = 0; i < kPgMaxPolls; ++i) {
    n = counts();
    if (n.ready == 4) break;
    ASSERT_EQ(n.ready + n.delayed, 4);
  }
  ASSERT_EQ(n.ready, 4);
  EXPECT_EQ(claimed_id({"t", "u"}), "t:early");
  EXPECT_EQ(claimed_id({"u", "t"}), "u:other-type");
  EXPECT_EQ(claimed_id({"t", "u"}), "t:middle");
  auto last = claim({"t", "u"});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->id, "t:late");

  std::int64_t const failed_at = db_now_ms();
  ASSERT_TRUE(fail(last->id, last->fence, "boom", 60'000ms));
  auto retry = get(last->id);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->state, JobState::waiting);
  EXPECT_GE(retry->run_at_ms, failed_at + 60'000);
  EXPECT_LE(retry->run_at_ms, db_now_ms() + 60'000);
  EXPECT_EQ(counts().delayed, 1);
}

// A stopped PostgreSQL: unavailable (503 upstream), never a wrong answer. Started again, the same
// queue reconnects by itself and the running job is still held by its claim.
TEST_P(JobQueuePostgres, AStoppedDatabaseIsUnavailableThenTheQueueWorksAgain) {
  open();
  std::string const id = enqueue("mail", "before").id;
  auto held = claim({"mail"}, "w", kPgLongLease);
  ASSERT_TRUE(held.has_value());

  testing::shared_postgres().stop();
  auto refused = testing::run_coro(io_, queue_->enqueue(spec("mail", "during")));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unavailable) << refused.error().describe();
  auto no_claim = testing::run_coro(io_, queue_->claim({"mail"}, "w", kPgLongLease));
  ASSERT_FALSE(no_claim.has_value()) << "a claim answered while PostgreSQL is down";
  EXPECT_TRUE(no_claim.error().transient()) << no_claim.error().describe();

  testing::shared_postgres().start();
  // The connection backs off after the failed connect: calls fail at once until it retries.
  Result<Enqueued> again = core::make_error(Errc::unavailable, "not tried");
  for (int i = 0; i < 300 && !again; ++i) {
    again = testing::run_coro(io_, queue_->enqueue(spec("mail", "after")));
    if (!again) std::this_thread::sleep_for(10ms);  // paces the retries; the bound is the count
  }
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(claimed_id({"mail"}), "mail:after");
  EXPECT_TRUE(complete(id, held->fence));
}

TEST_P(JobQueuePostgres, OpenJobQueueGivesPostgresItsQueue) {
  open();
  EXPECT_EQ(queue_provider_->backend(), "postgres");
  EXPECT_EQ(queue_->backend(), "postgres");
}

INSTANTIATE_TEST_SUITE_P(Engine, JobQueuePostgres, ::testing::Values("postgres"),
                         testing::ParamName{});

}  // namespace
}  // namespace outboard::state
