// The room feed's cases (feed_cases.hpp) on the process's shared 6-node Redis Cluster, those that
// do not move the ManualClock (Redis judges expiry by its own clock), then what only a cluster
// has: rooms whose slots are on different masters, all heard by one reader subscribed on one
// node. The param is named "redis_cluster" so that ctest's shared-engine group ("*/redis_cluster")
// runs them in its one process.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "feed_cases.hpp"
#include "state/redis_cluster/key_slot.hpp"
#include "support/param_name.hpp"

namespace outboard::state {
namespace {

class FeedCluster : public ::testing::TestWithParam<std::string>, protected feed_testing::FeedHarness {
 protected:
  FeedCluster() : FeedHarness(GetParam()) {}
};

TEST_P(FeedCluster, SeqsCountFromOneInOrder) { seqs_count_from_one_in_order(); }
TEST_P(FeedCluster, DedupeAnswersTheFirstSeqAndWritesNothing) { dedupe_answers_the_first_seq_and_writes_nothing(); }
TEST_P(FeedCluster, ReadAfterReturnsExactlyTheEntriesAfter) { read_after_returns_exactly_the_entries_after(); }
TEST_P(FeedCluster, TrimmingPastHistorySetsTruncated) { trimming_past_history_sets_truncated(); }
TEST_P(FeedCluster, WithoutHistoryOnlyTheSeqCounts) { without_history_only_the_seq_counts(); }
TEST_P(FeedCluster, AWatcherHearsAnotherProvidersAppend) { a_watcher_hears_another_providers_append(); }
TEST_P(FeedCluster, OnlyWatchedRoomsAreDelivered) { only_watched_rooms_are_delivered(); }

// The test cluster's 3 masters hold the slots in three even ranges, in order (lab/redis_cluster_engine's
// form(), as `redis-cli --cluster create` splits them); a room in
// the first and one in the last are therefore on different masters, and at most one of them on
// the node the reader subscribed on. Both are heard, each in its order.
TEST_P(FeedCluster, RoomsOnDifferentMastersReachOneReader) {
  auto room_in = [](int low, int high) -> std::string {
    for (int i = 0; i < 10000; ++i) {
      std::string room = "room-" + std::to_string(i);
      int slot = redis_cluster::key_slot("rt:{" + room + "}:seq");
      if (slot >= low && slot < high) return room;
    }
    return {};
  };
  std::string const first = room_in(0, 5000);
  std::string const last = room_in(11500, 16384);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(last.empty());
  open();
  FeedProvider& other = listener();
  other.start(sink_);
  watch(other, first);
  watch(other, last);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(append(first, "f" + std::to_string(i)).seq, i);
    EXPECT_EQ(append(last, "l" + std::to_string(i)).seq, i);
  }
  ASSERT_TRUE(sink_.wait_for_seq(first, 3));
  ASSERT_TRUE(sink_.wait_for_seq(last, 3));
  EXPECT_EQ(seqs(sink_.of(first)), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(seqs(sink_.of(last)), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(read_after(last, 1).entries.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Cluster, FeedCluster, ::testing::Values("redis_cluster"), testing::ParamName{});

}  // namespace
}  // namespace outboard::state
