// The room feed's cases (feed_cases.hpp) on memory and sqlite; redis runs the same ones in
// feed_redistest.cpp. Also: which URLs have a feed.
#include <gtest/gtest.h>

#include <stdexcept>

#include "feed_cases.hpp"
#include "support/param_name.hpp"

namespace outboard::state {
namespace {

class FeedConformance : public ::testing::TestWithParam<std::string>, protected feed_testing::FeedHarness {
 protected:
  FeedConformance() : FeedHarness(GetParam()) {}
};

TEST_P(FeedConformance, SeqsCountFromOneInOrder) { seqs_count_from_one_in_order(); }
TEST_P(FeedConformance, DedupeAnswersTheFirstSeqAndWritesNothing) { dedupe_answers_the_first_seq_and_writes_nothing(); }
TEST_P(FeedConformance, ReadAfterReturnsExactlyTheEntriesAfter) { read_after_returns_exactly_the_entries_after(); }
TEST_P(FeedConformance, TrimmingPastHistorySetsTruncated) { trimming_past_history_sets_truncated(); }
TEST_P(FeedConformance, HistoryAndDedupeExpireByTheClock) { history_and_dedupe_expire_by_the_clock(); }
TEST_P(FeedConformance, WithoutHistoryOnlyTheSeqCounts) { without_history_only_the_seq_counts(); }
TEST_P(FeedConformance, AWatcherHearsAnotherProvidersAppend) { a_watcher_hears_another_providers_append(); }
TEST_P(FeedConformance, OnlyWatchedRoomsAreDelivered) { only_watched_rooms_are_delivered(); }

INSTANTIATE_TEST_SUITE_P(Backends, FeedConformance, ::testing::Values("memory", "sqlite"),
                         testing::ParamName{});

TEST(OpenFeed, ABlobUrlHasNoFeed) {
  core::ManualClock clock;
  StoreOptions store;
  store.clock = &clock;
  EXPECT_THROW(open_feed("file:///tmp/blobs", store, {}), std::invalid_argument);
  EXPECT_THROW(open_feed("nonsense", store, {}), std::invalid_argument);
  EXPECT_EQ(open_feed("memory://", store, {})->backend(), "memory");
}

}  // namespace
}  // namespace outboard::state
