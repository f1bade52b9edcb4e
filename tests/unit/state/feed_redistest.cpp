// The room feed's cases (feed_cases.hpp) on a private redis-server, plus what only redis has:
// the keys' TTLs (PTTL, since redis keeps its own clock), a counter that outlived its log, and the
// reader's link killed (CLIENT KILL TYPE pubsub): resync() and delivery again.
#include <gtest/gtest.h>

#include "feed_cases.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/redis/redis_feed.hpp"
#include "state/redis/redis_router.hpp"
#include "state/redis/resp.hpp"
#include "support/free_port.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;

class FeedRedis : public ::testing::Test, protected feed_testing::FeedHarness {
 protected:
  FeedRedis() : FeedHarness("redis") {}

  // One command from another client, on an event loop of its own.
  Reply elsewhere(std::initializer_list<std::string_view> args) {
    boost::asio::io_context io;
    auto conn = RedisConnection::create(io.get_executor(), RedisEndpoint{"127.0.0.1", redis_->port(), "", 3, 2000ms});
    auto reply = testing::run_coro(io, conn->execute(encode_command(args)));
    conn->close();
    EXPECT_TRUE(reply.has_value()) << reply.error().describe();
    return reply ? *reply : Reply{};
  }
  std::int64_t pttl(std::string_view key) { return elsewhere({"PTTL", key}).integer; }
};

TEST_F(FeedRedis, SeqsCountFromOneInOrder) { seqs_count_from_one_in_order(); }
TEST_F(FeedRedis, DedupeAnswersTheFirstSeqAndWritesNothing) { dedupe_answers_the_first_seq_and_writes_nothing(); }
TEST_F(FeedRedis, ReadAfterReturnsExactlyTheEntriesAfter) { read_after_returns_exactly_the_entries_after(); }
TEST_F(FeedRedis, TrimmingPastHistorySetsTruncated) { trimming_past_history_sets_truncated(); }
TEST_F(FeedRedis, WithoutHistoryOnlyTheSeqCounts) {
  without_history_only_the_seq_counts();
  EXPECT_EQ(elsewhere({"EXISTS", "rt:{a}:log"}).integer, 0);
  EXPECT_EQ(elsewhere({"EXISTS", "rt:{a}:dd:k"}).integer, 0);
  EXPECT_GT(pttl("rt:{a}:seq"), 0);
}
TEST_F(FeedRedis, AWatcherHearsAnotherProvidersAppend) { a_watcher_hears_another_providers_append(); }
TEST_F(FeedRedis, OnlyWatchedRoomsAreDelivered) { only_watched_rooms_are_delivered(); }

// Every append sets the room's TTLs again: the counter and log for history_ttl, the dedupe key
// for dedupe_ttl.
TEST_F(FeedRedis, KeysCarryTheirTtls) {
  FeedOptions options;
  options.history_ttl = 60'000ms;
  options.dedupe_ttl = 30'000ms;
  open(options);
  append("a", "one", "k");
  for (auto key : {"rt:{a}:seq", "rt:{a}:log"}) {
    std::int64_t left = pttl(key);
    EXPECT_GT(left, 30'000) << key;
    EXPECT_LE(left, 60'000) << key;
  }
  std::int64_t dedupe_left = pttl("rt:{a}:dd:k");
  EXPECT_GT(dedupe_left, 0);
  EXPECT_LE(dedupe_left, 30'000);
  // A second append renews the counter's and the log's TTL.
  ASSERT_EQ(elsewhere({"PEXPIRE", "rt:{a}:log", "40000"}).integer, 1);
  append("a", "two");
  EXPECT_GT(pttl("rt:{a}:log"), 40'000);
}

// The counter gone while the log stayed (expired a moment apart, or deleted by hand): the room
// starts again from seq 1 instead of failing on an XADD id below the old log's.
TEST_F(FeedRedis, ACounterThatOutlivedItsLogStartsTheRoomAfresh) {
  open();
  append("a", "one");
  append("a", "two");
  ASSERT_EQ(elsewhere({"DEL", "rt:{a}:seq"}).integer, 1);
  EXPECT_EQ(append("a", "afresh").seq, 1);
  auto h = read_after("a", 0);
  EXPECT_EQ(seqs(h.entries), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(h.entries[0].body, "afresh");
}

TEST_F(FeedRedis, AKilledReaderLinkResyncsAndDeliversAgain) {
  open();
  FeedProvider& other = listener();
  other.start(sink_);
  watch(other, "a");
  ASSERT_TRUE(sink_.wait_for_resyncs(1));  // the first link's
  int const before = sink_.resyncs();
  sink_.forget_heard();

  ASSERT_GE(elsewhere({"CLIENT", "KILL", "TYPE", "pubsub"}).integer, 1);
  ASSERT_TRUE(sink_.wait_for_resyncs(before + 1)) << "no resync after the link was killed";
  EXPECT_TRUE(sink_.wait_until_heard("a"));  // subscribed again before resync()
  append("a", "after the kill");
  ASSERT_TRUE(sink_.wait_for_seq("a", 1));
  EXPECT_EQ(sink_.of("a").back().body, "after the kill");
}

// A reader given several nodes (as on a cluster, where any node hears every PUBLISH) moves on
// from one that does not answer: here the first is a port nobody listens on.
TEST_F(FeedRedis, AReaderGivenSeveralNodesMovesOnFromOneThatDoesNotAnswer) {
  open();
  RedisEndpoint live{"127.0.0.1", redis_->port(), "", 3, 2000ms};
  RedisEndpoint dead = live;
  dead.port = testing::free_port();
  RouterFactory router_for = [live](boost::asio::any_io_executor executor) {
    return make_single_router(RedisConnection::create(std::move(executor), live));
  };
  auto reader = make_routed_redis_feed(std::move(router_for), {dead, live}, {}, "redis");
  reader->start(sink_);
  reader->watch("a");
  ASSERT_TRUE(sink_.wait_until_heard("a")) << "never subscribed on the second node";
  append("a", "heard through the second node");
  ASSERT_TRUE(sink_.wait_for_seq("a", 1));
  EXPECT_EQ(sink_.of("a").back().body, "heard through the second node");
  reader->stop();
}

// Unwatched and watched again before the reader acted on it: the subscription never lapsed, so
// no SUBSCRIBE is confirmed, and watching() must still come (receivers re-check on it).
TEST_F(FeedRedis, ARoomWatchedAgainAtOnceIsHeardAgain) {
  open();
  FeedProvider& other = listener();
  other.start(sink_);
  watch(other, "a");
  sink_.forget_heard();
  other.unwatch("a");
  other.watch("a");
  ASSERT_TRUE(sink_.wait_until_heard("a"));
  append("a", "after the rewatch");
  ASSERT_TRUE(sink_.wait_for_seq("a", 1));
}

}  // namespace
}  // namespace outboard::state
