// The job queue's cases (job_queue_cases.hpp) on the process's shared 6-node Redis Cluster, those
// that do not travel in time (the queue keeps Redis's clock, as redis:// does), then what only a
// cluster has: jobs whose keys live on different masters. The param is named "redis_cluster" so
// that ctest's shared-engine group ("*/redis_cluster") runs them in its one process.
#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "support/param_name.hpp"
#include "job_queue_cases.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"
#include "state/redis_cluster/key_slot.hpp"
#include "state/redis_cluster/slot_map.hpp"
#include "state/store_url.hpp"

namespace outboard::state {
namespace {

using redis_cluster::key_slot;

class JobQueueCluster : public ::testing::TestWithParam<std::string>, protected job_testing::JobQueueHarness {
 protected:
  JobQueueCluster() : JobQueueHarness(GetParam()) {}

  // Who serves each slot, asked of the cluster itself (CLUSTER SLOTS on its first node).
  redis_cluster::SlotMap slot_map() {
    auto parsed = parse_store_url(url());
    EXPECT_TRUE(parsed.has_value());
    if (!parsed || parsed->nodes.empty()) return {};
    RedisEndpoint node;
    node.host = parsed->nodes.front().first;
    node.port = parsed->nodes.front().second;
    auto conn = RedisConnection::create(io_.get_executor(), node);
    auto reply = testing::run_coro(io_, conn->execute(encode_command({"CLUSTER", "SLOTS"})));
    conn->close();
    EXPECT_TRUE(reply.has_value()) << reply.error().describe();
    if (!reply) return {};
    auto map = redis_cluster::parse_cluster_slots(*reply, node.host);
    EXPECT_TRUE(map.has_value()) << map.error().describe();
    return map ? std::move(*map) : redis_cluster::SlotMap{};
  }

  // One command from a client of the test's own, on the master serving `key`'s slot.
  Reply on_owner(std::string const& key, std::initializer_list<std::string_view> args) {
    auto map = slot_map();
    if (map.owner.size() != redis_cluster::kSlots || map.owner[key_slot(key)] >= map.masters.size()) return {};
    auto const& master = map.masters[map.owner[key_slot(key)]];
    RedisEndpoint node;
    node.host = master.host;
    node.port = master.port;
    auto conn = RedisConnection::create(io_.get_executor(), node);
    auto reply = testing::run_coro(io_, conn->execute(encode_command(args)));
    conn->close();
    EXPECT_TRUE(reply.has_value()) << reply.error().describe();
    return reply ? std::move(*reply) : Reply{};
  }
};

TEST_P(JobQueueCluster, EnqueueDedupesByTypeAndKey) { enqueue_dedupes_by_type_and_key(); }
TEST_P(JobQueueCluster, ClaimSetsTheFenceAndWritesTheFenceKey) { claim_sets_the_fence_and_writes_the_fence_key(); }
TEST_P(JobQueueCluster, AStaleFenceIsRefused) { a_stale_fence_is_refused(); }
TEST_P(JobQueueCluster, TypesFilterTheClaim) { types_filter_the_claim(); }
TEST_P(JobQueueCluster, InvalidSpecsAreRefused) { invalid_specs_are_refused(); }
TEST_P(JobQueueCluster, ExhaustedAttemptsGoToTheDeadLetters) { exhausted_attempts_go_to_the_dead_letters(); }
TEST_P(JobQueueCluster, FailWithoutRetryIsDeadAtOnce) { fail_without_retry_is_dead_at_once(); }
TEST_P(JobQueueCluster, DeadLettersCanBeRetriedAndDropped) { dead_letters_can_be_retried_and_dropped(); }
TEST_P(JobQueueCluster, TwoProvidersNeverClaimOneJobTwice) { two_providers_never_claim_one_job_twice(); }

// Two jobs of two types whose hashes (and fence keys) live on different masters, each on another
// master than its type's index: both are claimed (the claim crosses from the type's node to the
// job's), completed, and their fence keys written where the store's fenced commit reads them.
TEST_P(JobQueueCluster, JobsOnDifferentMastersAreClaimedCompletedAndFenced) {
  open();
  auto map = slot_map();
  ASSERT_EQ(map.owner.size(), redis_cluster::kSlots);
  auto owner = [&](std::string const& key) { return map.owner[key_slot(key)]; };
  // The first key of `type` whose job is on another master than the type's index and than `not_on`.
  auto pick = [&](std::string const& type, std::uint16_t not_on) -> std::string {
    for (int i = 0; i < 1000; ++i) {
      std::string id = job_id(type, "order-" + std::to_string(i));
      auto job_owner = owner(fence_key(id));
      if (job_owner != owner("jobs:{" + type + "}:waiting") && job_owner != not_on) return id;  // the type's index
    }
    return {};
  };
  std::string const mail = pick("mail", redis_cluster::SlotMap::kNobody);
  ASSERT_FALSE(mail.empty());
  std::string const sms = pick("sms", owner(fence_key(mail)));
  ASSERT_FALSE(sms.empty());
  EXPECT_NE(key_slot(fence_key(mail)), key_slot(fence_key(sms)));
  EXPECT_NE(owner(fence_key(mail)), owner(fence_key(sms)));
  EXPECT_EQ(key_slot(fence_key(mail)), key_slot("job:{" + mail + "}"));  // the hash beside its fence

  for (std::string const& id : {mail, sms}) {
    auto colon = id.find(':');
    EXPECT_FALSE(enqueue(id.substr(0, colon), id.substr(colon + 1)).duplicate);
  }
  std::set<std::string> claimed;
  for (int i = 0; i < 2; ++i) {
    auto c = claim({"mail", "sms"});
    ASSERT_TRUE(c.has_value());
    claimed.insert(c->id);
    EXPECT_EQ(c->fence, 1);
    EXPECT_EQ(fence_in_store(c->id), "1");
    EXPECT_FALSE(commit_fenced(c->id, 2, "effect:{" + c->id + "}"));
    EXPECT_TRUE(commit_fenced(c->id, 1, "effect:{" + c->id + "}"));
    EXPECT_TRUE(complete(c->id, c->fence));
  }
  EXPECT_EQ(claimed, (std::set<std::string>{mail, sms}));
  EXPECT_EQ(claim({"mail", "sms"}), std::nullopt);
  EXPECT_EQ(state_of(mail), JobState::done);
  EXPECT_EQ(state_of(sms), JobState::done);
  JobCounts n = counts();
  EXPECT_EQ(n.ready + n.delayed + n.running + n.dead, 0);
}

// A crash between two steps of an operation leaves the type's index stale; the job's slot is the
// truth: the next claim skips the entry of a job that is not claimable, drops it, and goes on.
TEST_P(JobQueueCluster, AStaleIndexEntryIsSkippedAndMendedByTheNextClaim) {
  open();
  enqueue("t", "a");
  auto a = claim({"t"});
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(complete(a->id, a->fence));
  // As if the done job's entry had been left behind as waiting, due long ago: first in line.
  EXPECT_EQ(on_owner("jobs:{t}:waiting", {"ZADD", "jobs:{t}:waiting", "0", "t:a"}).integer, 1);
  enqueue("t", "b");
  EXPECT_EQ(claimed_id({"t"}), "t:b");
  EXPECT_EQ(state_of("t:a"), JobState::done);
  EXPECT_EQ(fence_in_store("t:a"), "1");
  JobCounts n = counts();
  EXPECT_EQ(n.ready, 0);
  EXPECT_EQ(n.running, 1);
}

// A dead job dropped while the same key is enqueued again: the drop deletes the job (its slot),
// then removes its dead entry (the type's slot); the enqueue in between creates a new job. That
// job must be filed waiting even though the old entry is still there, or no claim would find it.
// (Before the fix the new job was filed only when the id was in no set: it was lost here.)
TEST_P(JobQueueCluster, AJobEnqueuedWhileItsPredecessorsEntryLeavesIsStillClaimable) {
  open();
  // As if a drop of a dead t:a had deleted the job and not yet removed its entry.
  EXPECT_EQ(on_owner("jobs:{t}:dead", {"ZADD", "jobs:{t}:dead", "5", "t:a"}).integer, 1);
  EXPECT_FALSE(enqueue("t", "a").duplicate);
  auto a = claim({"t"});
  ASSERT_TRUE(a.has_value()) << "the new job was not filed";
  EXPECT_EQ(a->id, "t:a");
  // The drop's own index step then comes: it must not touch the new job's entry.
  EXPECT_EQ(on_owner("jobs:{t}:dead", {"ZREM", "jobs:{t}:dead", "t:a"}).integer, 0);
  JobCounts n = counts();
  EXPECT_EQ(n.running, 1);
  EXPECT_EQ(n.dead, 0);
}

INSTANTIATE_TEST_SUITE_P(Cluster, JobQueueCluster, ::testing::Values("redis_cluster"),
                         testing::ParamName{});

}  // namespace
}  // namespace outboard::state
