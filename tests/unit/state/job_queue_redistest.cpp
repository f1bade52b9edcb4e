// The job queue's cases (job_queue_cases.hpp) on a private redis-server, those that do not travel
// in time; then what only redis has. Its leases and delays run on Redis's clock (TIME, inside the
// scripts), so here a lease is tiny (50 ms) and its end is waited for as an EVENT: claim() polled
// until it hands the job out again, bounded by a count, never by a time. The harness's
// ManualClock stays frozen: were the queue to read it, no lease would ever run out.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "job_queue_cases.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;

using job_testing::kLongLease;
using job_testing::kMaxPolls;
using job_testing::kTinyLease;

class JobQueueRedis : public ::testing::Test, protected job_testing::JobQueueHarness {
 protected:
  JobQueueRedis() : JobQueueHarness("redis") {}

  ~JobQueueRedis() override {
    if (raw_) raw_->close();
  }

  // One command from a plain client of the test's own (no queue, no store), on the test's loop.
  Reply elsewhere(std::initializer_list<std::string_view> args) {
    if (!raw_) raw_ = RedisConnection::create(io_.get_executor(), RedisEndpoint{"127.0.0.1", redis_->port(), "", 3});
    auto reply = testing::run_coro(io_, raw_->execute(encode_command(args)));
    EXPECT_TRUE(reply.has_value()) << reply.error().describe();
    return reply ? std::move(*reply) : Reply{};
  }
  std::int64_t redis_now_ms() {
    Reply t = elsewhere({"TIME"});
    if (t.elements.size() != 2) return 0;
    return std::stoll(t.elements[0].str) * 1000 + std::stoll(t.elements[1].str) / 1000;
  }

  // A second provider on the same URL: another process, with its own connection.
  std::shared_ptr<JobQueue> another_process() {
    other_ = open_job_queue(url(), *store_provider_, store_options_, queue_options_);
    return other_->queue_for(io_.get_executor());
  }

  std::unique_ptr<JobQueueProvider> other_;
  std::shared_ptr<RedisConnection> raw_;
};

TEST_F(JobQueueRedis, EnqueueDedupesByTypeAndKey) { enqueue_dedupes_by_type_and_key(); }
TEST_F(JobQueueRedis, ClaimSetsTheFenceAndWritesTheFenceKey) { claim_sets_the_fence_and_writes_the_fence_key(); }
TEST_F(JobQueueRedis, AStaleFenceIsRefused) { a_stale_fence_is_refused(); }
TEST_F(JobQueueRedis, TypesFilterTheClaim) { types_filter_the_claim(); }
TEST_F(JobQueueRedis, InvalidSpecsAreRefused) { invalid_specs_are_refused(); }
TEST_F(JobQueueRedis, ExhaustedAttemptsGoToTheDeadLetters) { exhausted_attempts_go_to_the_dead_letters(); }
TEST_F(JobQueueRedis, FailWithoutRetryIsDeadAtOnce) { fail_without_retry_is_dead_at_once(); }
TEST_F(JobQueueRedis, DeadLettersCanBeRetriedAndDropped) { dead_letters_can_be_retried_and_dropped(); }
TEST_F(JobQueueRedis, TwoProvidersNeverClaimOneJobTwice) { two_providers_never_claim_one_job_twice(); }

// --- redis only ---

// Worker A's lease runs out on Redis's clock; B, another process, claims the job with fence 2
// and the fence key reads "2"; A can no longer renew, fail, complete or commit. Done, the job
// leaves the running set and its hash and fence key expire after done_ttl.
TEST_F(JobQueueRedis, AfterTheLeaseRanOutAnotherProcessClaimsWithFence2) {
  JobQueueOptions options;
  options.done_ttl = 60'000ms;
  open(options);
  auto b = another_process();
  std::string const id = enqueue("mail", "order-1").id;

  std::int64_t const before = redis_now_ms();
  auto first = claim({"mail"}, "worker-a", kTinyLease);
  std::int64_t const after = redis_now_ms();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->fence, 1);
  auto held = get(id);
  ASSERT_TRUE(held.has_value());
  EXPECT_GE(held->lease_until_ms, before + kTinyLease.count());  // counted on Redis's clock
  EXPECT_LE(held->lease_until_ms, after + kTinyLease.count());

  std::optional<Claim> second;
  for (int i = 0; i < kMaxPolls && !second; ++i) second = run(b->claim({"mail"}, "worker-b", kLongLease));
  ASSERT_TRUE(second.has_value()) << "the 50 ms lease never ran out";
  EXPECT_EQ(second->id, id);
  EXPECT_EQ(second->fence, 2);
  EXPECT_EQ(second->attempt, 2);
  EXPECT_EQ(fence_in_store(id), "2");
  EXPECT_EQ(elsewhere({"GET", fence_key(id)}).str, "2");

  EXPECT_FALSE(renew(id, 1));
  EXPECT_FALSE(fail(id, 1, "late", 0ms));
  EXPECT_FALSE(complete(id, 1));
  EXPECT_FALSE(commit_fenced(id, 1, "effect"));
  EXPECT_TRUE(commit_fenced(id, 2, "effect"));
  EXPECT_TRUE(run(b->complete(id, 2)));

  EXPECT_EQ(state_of(id), JobState::done);
  EXPECT_EQ(elsewhere({"ZSCORE", "jobs:{mail}:running", id}).type, Reply::Type::nil);
  for (std::string const& key : {"job:{" + id + "}", fence_key(id)}) {
    std::int64_t left = elsewhere({"PTTL", key}).integer;
    EXPECT_GT(left, 0) << key;
    EXPECT_LE(left, 60'000) << key;
  }
}

// A lease that runs out on the job's last attempt sends it to the dead-letter list.
TEST_F(JobQueueRedis, ALeaseRunOutOnTheLastAttemptIsDeadWithLeaseExpired) {
  open();
  std::string const id = enqueue("mail", "order-2", 0ms, 1).id;
  ASSERT_TRUE(claim({"mail"}, "w", kTinyLease).has_value());
  std::optional<JobInfo> info;
  for (int i = 0; i < kMaxPolls; ++i) {
    EXPECT_EQ(claim({"mail"}), std::nullopt);  // never handed out again
    info = get(id);
    if (!info || info->state != JobState::running) break;
  }
  ASSERT_TRUE(info.has_value());
  ASSERT_EQ(info->state, JobState::dead);
  EXPECT_EQ(info->last_error, "lease expired");
  EXPECT_EQ(dead_ids(), (std::vector<std::string>{id}));
}

// Delays and retries are counted on Redis's clock too, and once due, jobs of several types come
// in run_at order.
TEST_F(JobQueueRedis, DelaysRunOnRedisClockAndDueJobsComeInRunAtOrder) {
  open();
  std::int64_t const before = redis_now_ms();
  enqueue("t", "late", 150ms);
  enqueue("t", "early", 50ms);
  enqueue("u", "other-type", 75ms);
  enqueue("t", "middle", 100ms);
  std::int64_t const after = redis_now_ms();
  auto late = get("t:late");
  ASSERT_TRUE(late.has_value());
  EXPECT_GE(late->run_at_ms, before + 150);
  EXPECT_LE(late->run_at_ms, after + 150);

  JobCounts n;
  for (int i = 0; i < kMaxPolls; ++i) {
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

  std::int64_t const failed_at = redis_now_ms();
  ASSERT_TRUE(fail(last->id, last->fence, "boom", 60'000ms));
  auto retry = get(last->id);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->state, JobState::waiting);
  EXPECT_GE(retry->run_at_ms, failed_at + 60'000);
  EXPECT_LE(retry->run_at_ms, redis_now_ms() + 60'000);
  EXPECT_EQ(counts().delayed, 1);
}

std::vector<std::string> ids_of(std::vector<Claim> const& claims) {
  std::vector<std::string> ids;
  for (auto const& c : claims) ids.push_back(c.id);
  return ids;
}

// claim_batch takes up to `max` due jobs in one script, in the order single claims take them
// (run_at across types), each a claim of its own: fence, attempt, fence key, running.
TEST_F(JobQueueRedis, ABatchClaimTakesUpToMaxDueJobsInRunAtOrderAcrossTypes) {
  open();
  enqueue("t", "late", 150ms);
  enqueue("t", "early", 50ms);
  enqueue("u", "other-type", 75ms);
  enqueue("t", "middle", 100ms);
  for (int i = 0; i < kMaxPolls && counts().ready < 4; ++i) {
  }
  ASSERT_EQ(counts().ready, 4);
  auto batch = run(queue_->claim_batch({"t", "u"}, "w1", kLongLease, 3));
  EXPECT_EQ(ids_of(batch), (std::vector<std::string>{"t:early", "u:other-type", "t:middle"}));
  for (auto const& c : batch) {
    EXPECT_EQ(c.fence, 1);
    EXPECT_EQ(c.attempt, 1);
    EXPECT_EQ(fence_in_store(c.id), "1");
    EXPECT_EQ(state_of(c.id), JobState::running);
  }
  EXPECT_EQ(ids_of(run(queue_->claim_batch({"t", "u"}, "w1", kLongLease, 3))), (std::vector<std::string>{"t:late"}));
  EXPECT_TRUE(run(queue_->claim_batch({"t", "u"}, "w1", kLongLease, 3)).empty());
  EXPECT_EQ(counts().running, 4);
}

// Jobs whose lease ran out join the batch by their own run_at, merged with the waiting ones, and
// one whose attempts are exhausted goes dead on the way ("lease expired").
TEST_F(JobQueueRedis, ABatchClaimMergesReclaimedJobsWithWaitingOnesByRunAt) {
  open();
  enqueue("t", "a-dying", 0ms, 1);
  enqueue("t", "b-stalled");
  auto stalled = run(queue_->claim_batch({"t"}, "paused", kTinyLease, 2));
  ASSERT_EQ(ids_of(stalled), (std::vector<std::string>{"t:a-dying", "t:b-stalled"}));
  enqueue("t", "c-fresh");
  enqueue("t", "d-fresh");
  // Both leases run out on Redis's clock.
  std::int64_t const lease_end = std::max(get("t:a-dying")->lease_until_ms, get("t:b-stalled")->lease_until_ms);
  for (int i = 0; i < kMaxPolls && redis_now_ms() <= lease_end; ++i) {
  }
  ASSERT_GT(redis_now_ms(), lease_end);
  auto batch = run(queue_->claim_batch({"t"}, "w2", kLongLease, 2));
  ASSERT_EQ(ids_of(batch), (std::vector<std::string>{"t:b-stalled", "t:c-fresh"}));
  EXPECT_EQ(batch[0].fence, 2);
  EXPECT_EQ(batch[0].attempt, 2);
  EXPECT_EQ(batch[1].fence, 1);
  EXPECT_EQ(dead_ids(), (std::vector<std::string>{"t:a-dying"}));
  EXPECT_EQ(get("t:a-dying")->last_error, "lease expired");
  EXPECT_EQ(ids_of(run(queue_->claim_batch({"t"}, "w2", kLongLease, 2))), (std::vector<std::string>{"t:d-fresh"}));
}

// A waiting member whose hash was deleted by hand is dropped, and the claim goes on to the next
// due job (a batch, and a single claim whose first candidate is such a member).
TEST_F(JobQueueRedis, AClaimDropsMembersWhoseHashIsGoneAndTakesTheNextJob) {
  open();
  for (std::string key : {"a", "b", "c", "d"}) enqueue("t", key);
  elsewhere({"DEL", "job:{t:a}", "job:{t:c}"});
  EXPECT_EQ(ids_of(run(queue_->claim_batch({"t"}, "w1", kLongLease, 2))), (std::vector<std::string>{"t:b", "t:d"}));
  EXPECT_EQ(elsewhere({"ZCARD", "jobs:{t}:waiting"}).integer, 0);

  enqueue("t", "e");
  enqueue("t", "f");
  elsewhere({"DEL", "job:{t:e}"});
  EXPECT_EQ(claimed_id({"t"}), "t:f");

  // The type whose candidate was gone is fetched again: its next jobs still come before a later
  // job of another type, as single claims would take them.
  for (std::string key : {"1", "2", "3"}) enqueue("a", key);
  enqueue("b", "9");
  elsewhere({"DEL", "job:{a:1}"});
  EXPECT_EQ(ids_of(run(queue_->claim_batch({"a", "b"}, "w1", kLongLease, 2))), (std::vector<std::string>{"a:2", "a:3"}));
}

// A killed redis-server: unavailable, never a crash or a wrong answer. Restarted (its AOF kept
// every acknowledged write; its script cache is empty, so EVALSHA meets NOSCRIPT and is sent
// again as EVAL), the same queue works again and the running job is still held by its claim.
TEST_F(JobQueueRedis, AKilledRedisIsUnavailableThenTheQueueWorksAgain) {
  open();
  std::string const id = enqueue("mail", "before").id;
  auto held = claim({"mail"}, "w", kLongLease);
  ASSERT_TRUE(held.has_value());

  redis_->kill();
  auto refused = testing::run_coro(io_, queue_->enqueue(spec("mail", "during")));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unavailable) << refused.error().describe();

  redis_->restart();
  // The connection backs off after the failed connect: commands fail at once until it retries.
  Result<Enqueued> again = core::make_error(Errc::unavailable, "not tried");
  for (int i = 0; i < 500 && !again; ++i) {
    again = testing::run_coro(io_, queue_->enqueue(spec("mail", "after")));
    if (!again) std::this_thread::sleep_for(10ms);  // paces the retries; the bound is the count
  }
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(claimed_id({"mail"}), "mail:after");
  EXPECT_TRUE(complete(id, held->fence));
}

// A job hash that is not what the scripts write (edited by hand) is Errc::unavailable with a
// reason naming the job, never a crash or a made-up value.
TEST_F(JobQueueRedis, AJobHashOfTheWrongShapeIsUnavailable) {
  open();
  elsewhere({"HSET", "job:{mail:odd}", "type", "mail", "key", "odd", "payload", "", "state", "waiting", "attempts",
             "many", "max_attempts", "5", "fence", "0", "last_error", "", "run_at", "0", "lease_until", "0",
             "worker", ""});
  auto got = testing::run_coro(io_, queue_->get("mail:odd"));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::unavailable);
  EXPECT_NE(got.error().context.find("mail:odd"), std::string::npos) << got.error().context;
}

}  // namespace
}  // namespace outboard::state
