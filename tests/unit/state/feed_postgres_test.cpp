// The room feed's cases (feed_cases.hpp) on the shared PostgreSQL, all but the one that moves the
// ManualClock (postgres judges expiry by its own clock); then what only postgres has. A TEST_P
// suite with the one param "postgres", so ctest runs it in the shared-engine group
// (state_tests.postgres, one process, one PostgreSQL).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/param_name.hpp"
#include "feed_cases.hpp"
#include "support/postgres_server.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;

class FeedPostgres : public ::testing::TestWithParam<std::string>, protected feed_testing::FeedHarness {
 protected:
  static void SetUpTestSuite() { testing::shared_postgres(); }
  FeedPostgres() : FeedHarness(GetParam()) {}
};

TEST_P(FeedPostgres, SeqsCountFromOneInOrder) { seqs_count_from_one_in_order(); }
TEST_P(FeedPostgres, DedupeAnswersTheFirstSeqAndWritesNothing) { dedupe_answers_the_first_seq_and_writes_nothing(); }
TEST_P(FeedPostgres, ReadAfterReturnsExactlyTheEntriesAfter) { read_after_returns_exactly_the_entries_after(); }
TEST_P(FeedPostgres, TrimmingPastHistorySetsTruncated) { trimming_past_history_sets_truncated(); }
TEST_P(FeedPostgres, WithoutHistoryOnlyTheSeqCounts) { without_history_only_the_seq_counts(); }
TEST_P(FeedPostgres, AWatcherHearsAnotherProvidersAppend) { a_watcher_hears_another_providers_append(); }
TEST_P(FeedPostgres, OnlyWatchedRoomsAreDelivered) { only_watched_rooms_are_delivered(); }

// The room's expiry is counted on the database's clock from the last append.
TEST_P(FeedPostgres, ARoomExpiresHistoryTtlAfterItsLastAppendOnTheDatabaseClock) {
  FeedOptions options;
  options.history_ttl = 60'000ms;
  open(options);
  auto db_now = [] { return std::stoll(testing::shared_postgres().psql("SELECT outboard_now_ms()")); };
  std::int64_t const before = db_now();
  append("a", "one");
  std::int64_t const after = db_now();
  std::int64_t expires =
      std::stoll(testing::shared_postgres().psql("SELECT expires_at FROM outboard_feed_rooms WHERE room = 'a'::bytea"));
  EXPECT_GE(expires, before + 60'000);
  EXPECT_LE(expires, after + 60'000);
}

// A stopped PostgreSQL: the reader loses its link, makes it again once the database is back and
// tells the sink to resync; later appends are heard again.
TEST_P(FeedPostgres, ALostReaderLinkResyncsAndDeliversAgain) {
  open();
  FeedProvider& other = listener();
  other.start(sink_);
  watch(other, "a");
  append("a", "before");
  ASSERT_TRUE(sink_.wait_for_seq("a", 1));

  testing::shared_postgres().stop();
  testing::shared_postgres().start();
  ASSERT_TRUE(sink_.wait_for_resyncs(1)) << "the reader never came back";
  // The appending connection reconnects by itself after its backoff.
  Result<Appended> again = core::make_error(Errc::unavailable, "not tried");
  for (int i = 0; i < 300 && !again; ++i) {
    again = testing::run_coro(io_, feed_->append("a", "after", ""));
    if (!again) std::this_thread::sleep_for(10ms);  // paces the retries; the bound is the count
  }
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  ASSERT_TRUE(sink_.wait_for_seq("a", again->seq));
  EXPECT_EQ(sink_.of("a").back().body, "after");
}

INSTANTIATE_TEST_SUITE_P(Engine, FeedPostgres, ::testing::Values("postgres"),
                         testing::ParamName{});

}  // namespace
}  // namespace outboard::state
