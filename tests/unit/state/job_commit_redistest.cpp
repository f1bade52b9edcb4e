// redis://'s one-step commit (JobQueue::commit_and_complete): a handler's effect and the job's
// completion in one script, on a private redis-server. The rules are those of the two steps it
// replaces (Store::commit_if, then complete()): conditions decide whether anything is written, and
// only the claim that still holds the job completes it. A lease runs out on Redis's clock, so it
// is tiny here and its end is waited for by polling the queue (bounded by a count, not a time).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "job_queue_cases.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using job_testing::kLongLease;
using job_testing::kMaxPolls;
using job_testing::kTinyLease;

class JobCommitRedis : public ::testing::Test, protected job_testing::JobQueueHarness {
 protected:
  JobCommitRedis() : JobQueueHarness("redis") {}

  // The fenced commit the runner sends: its fence still the job's, the marker absent; the effect
  // and the marker's record.
  static std::vector<Condition> fenced(Claim const& c) {
    return {Condition::equals(fence_key(c.id), std::to_string(c.fence)), Condition::field_absent("done", c.id)};
  }
  static std::vector<Write> effect(Claim const& c, std::string what) {
    return {Write::push("effects", std::move(what)), Write::hset("done", c.id, std::to_string(c.fence))};
  }
  CommitOutcome commit_and_complete(Claim const& c, std::vector<Condition> conditions, std::vector<Write> writes) {
    return run(queue_->commit_and_complete(c.id, c.fence, std::move(conditions), std::move(writes)));
  }
  std::vector<std::string> effects() { return run(store_->list_range("effects")); }

  // Claims `id` for worker A with a tiny lease, then lets B take it over once that lease ran out
  // on Redis's clock: returns A's stale claim (fence 1); B's holds fence 2.
  Claim stale_claim(std::string const& id) {
    auto a = claim({"mail"}, "worker-a", kTinyLease);
    EXPECT_TRUE(a.has_value());
    std::optional<Claim> b;
    for (int i = 0; i < kMaxPolls && !b; ++i) b = claim({"mail"}, "worker-b", kLongLease);
    EXPECT_TRUE(b.has_value()) << "the 50 ms lease never ran out";
    EXPECT_EQ(b ? b->fence : 0, 2);
    EXPECT_EQ(a ? a->id : "", id);
    return a ? *a : Claim{};
  }
};

TEST_F(JobCommitRedis, TheEffectAndTheCompletionAreOneStep) {
  open();
  ASSERT_TRUE(queue_->commits_and_completes());
  std::string const id = enqueue("mail", "order-1").id;
  auto c = claim({"mail"});
  ASSERT_TRUE(c.has_value());

  EXPECT_EQ(commit_and_complete(*c, fenced(*c), effect(*c, "receipt-1")), CommitOutcome::completed);
  EXPECT_EQ(effects(), std::vector<std::string>{"receipt-1"});
  EXPECT_EQ(state_of(id), JobState::done);
  EXPECT_EQ(counts().running, 0);
  // Sent again (a reply that was lost): the marker is there, so nothing is written twice.
  EXPECT_EQ(commit_and_complete(*c, fenced(*c), effect(*c, "receipt-1")), CommitOutcome::refused);
  EXPECT_EQ(effects(), std::vector<std::string>{"receipt-1"});
}

// The paused worker's commit after a takeover: refused with fencing, nothing written, the job
// still the new holder's; without conditions (the `locked` design) its write goes in, and the
// job is still not completed by it.
TEST_F(JobCommitRedis, AStaleClaimIsRefusedWithFencingAndWritesButDoesNotCompleteWithout) {
  open();
  std::string const id = enqueue("mail", "order-2").id;
  Claim const stale = stale_claim(id);

  EXPECT_EQ(commit_and_complete(stale, fenced(stale), effect(stale, "stale")), CommitOutcome::refused);
  EXPECT_TRUE(effects().empty());

  EXPECT_EQ(commit_and_complete(stale, {}, effect(stale, "stale")), CommitOutcome::written_not_held);
  EXPECT_EQ(effects(), std::vector<std::string>{"stale"});
  auto info = get(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, JobState::running);
  EXPECT_EQ(info->fence, 2);
  EXPECT_EQ(info->worker, "worker-b");
}

// A write the store refuses (a hash field on a list) is Errc::invalid, and nothing of the
// commit nor the completion happens.
TEST_F(JobCommitRedis, AWrongTypeWriteIsInvalidAndChangesNothing) {
  open();
  std::string const id = enqueue("mail", "order-3").id;
  auto c = claim({"mail"});
  ASSERT_TRUE(c.has_value());
  run(store_->list_push("effects", "before"));
  auto r = testing::run_coro(io_, queue_->commit_and_complete(c->id, c->fence, fenced(*c),
                                                              {Write::hset("effects", "f", "v"), Write::set("x", "1")}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_EQ(effects(), std::vector<std::string>{"before"});
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  EXPECT_EQ(state_of(id), JobState::running);
}

// A store with a near-cache or WAIT commits through the Store (its cache drop, its replicas):
// no one-step commit then, and asking for one is Errc::invalid.
TEST_F(JobCommitRedis, ANearCacheOrWaitTakesTheTwoSteps) {
  store_options_.near_cache_keys = 100;
  open();
  EXPECT_FALSE(queue_->commits_and_completes());
  enqueue("mail", "order-4");
  auto c = claim({"mail"});
  ASSERT_TRUE(c.has_value());
  auto r = testing::run_coro(io_, queue_->commit_and_complete(c->id, c->fence, fenced(*c), effect(*c, "x")));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_TRUE(effects().empty());

  store_options_.near_cache_keys = 0;
  store_options_.wait_replicas = 1;
  EXPECT_FALSE(open_job_queue(url(), *store_provider_, store_options_, {})->queue_for(io_.get_executor())
                   ->commits_and_completes());
}

}  // namespace
}  // namespace outboard::state
