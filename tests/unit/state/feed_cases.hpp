#pragma once
// The room-feed cases, written once and run by feed_conformance_test.cpp (memory, sqlite) and
// feed_redistest.cpp (a private redis-server) and feed_postgres_test.cpp (the shared PostgreSQL).
// TTLs: memory and sqlite run on a ManualClock the cases advance; redis and postgres keep their own
// clocks, so history_and_dedupe_expire_by_the_clock runs on memory and sqlite only.
// Delivery is waited for as an EVENT (a condition variable, bounded at 10 s), never a sleep.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "state/feed.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/store_engines.hpp"
#include "support/temp_dir.hpp"

namespace outboard::state::feed_testing {

using namespace std::chrono_literals;

// What a reader delivered, as seqs and bodies per room.
class RecordingSink final : public FeedSink {
 public:
  void entries(std::string const& room, std::vector<FeedEntry> entries) override {
    {
      std::lock_guard lock(mutex_);
      for (auto& e : entries) received_[room].push_back(std::move(e));
    }
    changed_.notify_all();
  }
  void resync() override {
    {
      std::lock_guard lock(mutex_);
      ++resyncs_;
    }
    changed_.notify_all();
  }
  void watching(std::string const& room) override {
    {
      std::lock_guard lock(mutex_);
      heard_.insert(room);
    }
    changed_.notify_all();
  }

  // Waits (at most 10 s: a bound against a hang, not a timing check) until done() holds.
  template <class Predicate>
  bool wait(Predicate done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return done(); });
  }
  bool wait_for_seq(std::string const& room, std::int64_t seq) {
    return wait([&] {
      for (auto const& e : received_[room]) {
        if (e.seq == seq) return true;
      }
      return false;
    });
  }
  bool wait_until_heard(std::string const& room) {
    return wait([&] { return heard_.contains(room); });
  }
  bool wait_for_resyncs(int count) {
    return wait([&] { return resyncs_ >= count; });
  }
  std::vector<FeedEntry> of(std::string const& room) {
    std::lock_guard lock(mutex_);
    return received_[room];
  }
  int resyncs() {
    std::lock_guard lock(mutex_);
    return resyncs_;
  }
  void forget_heard() {
    std::lock_guard lock(mutex_);
    heard_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<FeedEntry>> received_;
  std::set<std::string> heard_;
  int resyncs_ = 0;
};

// One backend's providers: `a` appends; `listener()` is a second provider on the same URL (a
// second process) where the backend shares across processes, else `a` itself (memory).
class FeedHarness {
 protected:
  explicit FeedHarness(std::string backend) : backend_(std::move(backend)) {
    store_.clock = &clock_;
    if (backend_ == "redis") redis_ = std::make_unique<testing::RedisServer>();
    if (backend_ == "postgres") engine_url_ = testing::fresh_postgres_url();
    if (backend_ == "redis_cluster") engine_url_ = testing::fresh_redis_cluster_url();
  }
  ~FeedHarness() {
    if (b_) b_->stop();
    if (a_) a_->stop();
  }

  std::string url() const {
    if (backend_ == "memory") return "memory://";
    if (backend_ == "sqlite") return "sqlite://" + (dir_ / "feed.db").string();
    if (backend_ == "postgres" || backend_ == "redis_cluster") return engine_url_;
    return redis_->url(3);
  }

  void open(FeedOptions options = {}) {
    options.poll_interval = 5ms;  // sqlite: keeps the delivery cases short
    options_ = options;
    a_ = open_feed(url(), store_, options);
    feed_ = a_->feed_for(io_.get_executor());
  }

  FeedProvider& listener() {
    if (backend_ == "memory") return *a_;
    if (!b_) b_ = open_feed(url(), store_, options_);
    return *b_;
  }

  // A watch that has taken effect: redis confirms its SUBSCRIBE asynchronously (FeedSink::watching).
  void watch(FeedProvider& provider, std::string const& room) {
    provider.watch(room);
    if (backend_ == "redis" || backend_ == "redis_cluster") {
      ASSERT_TRUE(sink_.wait_until_heard(room)) << "never subscribed to " << room;
    }
  }

  template <class T>
  T run(boost::asio::awaitable<Result<T>> op) {
    auto r = testing::run_coro(io_, std::move(op));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() ? *r : T{};
  }
  Appended append(std::string const& room, std::string const& body, std::string const& key = "") {
    return run(feed_->append(room, body, key));
  }
  History read_after(std::string const& room, std::int64_t after, std::size_t limit = 100) {
    return run(feed_->read_after(room, after, limit));
  }
  static std::vector<std::int64_t> seqs(std::vector<FeedEntry> const& entries) {
    std::vector<std::int64_t> out;
    for (auto const& e : entries) out.push_back(e.seq);
    return out;
  }

  // --- the cases ---

  void seqs_count_from_one_in_order() {
    open();
    for (std::int64_t i = 1; i <= 5; ++i) EXPECT_EQ(append("a", "m" + std::to_string(i)).seq, i);
    EXPECT_EQ(append("b", "other room").seq, 1);
    auto h = read_after("a", 0);
    EXPECT_EQ(seqs(h.entries), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
    ASSERT_EQ(h.entries.size(), 5u);
    EXPECT_EQ(h.entries[0].body, "m1");
    EXPECT_EQ(h.entries[4].body, "m5");
    EXPECT_EQ(h.last_seq, 5);
    EXPECT_FALSE(h.truncated);
  }

  void dedupe_answers_the_first_seq_and_writes_nothing() {
    open();
    Appended first = append("a", "hello", "k1");
    Appended again = append("a", "hello, resent", "k1");
    EXPECT_EQ(first.seq, 1);
    EXPECT_FALSE(first.duplicate);
    EXPECT_EQ(again.seq, 1);
    EXPECT_TRUE(again.duplicate);
    auto h = read_after("a", 0);
    EXPECT_EQ(h.last_seq, 1);
    ASSERT_EQ(h.entries.size(), 1u);
    EXPECT_EQ(h.entries[0].body, "hello");
    EXPECT_EQ(append("a", "next", "k2").seq, 2);
    EXPECT_EQ(append("b", "same key, other room", "k1").seq, 1);
    EXPECT_FALSE(append("b", "x", "").duplicate);  // no key: never a duplicate
    EXPECT_FALSE(append("b", "x", "").duplicate);
  }

  void read_after_returns_exactly_the_entries_after() {
    open();
    for (int i = 1; i <= 10; ++i) append("a", "m" + std::to_string(i));
    auto h = read_after("a", 4, 3);
    EXPECT_EQ(seqs(h.entries), (std::vector<std::int64_t>{5, 6, 7}));
    EXPECT_EQ(h.entries[0].body, "m5");
    EXPECT_EQ(h.last_seq, 10);
    EXPECT_FALSE(h.truncated);
    EXPECT_TRUE(read_after("a", 10).entries.empty());
    EXPECT_EQ(read_after("a", 10).last_seq, 10);
    EXPECT_EQ(read_after("a", 9).entries.size(), 1u);
    auto none = read_after("never", 0);
    EXPECT_TRUE(none.entries.empty());
    EXPECT_EQ(none.last_seq, 0);
    EXPECT_FALSE(none.truncated);
  }

  void trimming_past_history_sets_truncated() {
    FeedOptions options;
    options.history = 3;
    open(options);
    for (int i = 1; i <= 5; ++i) append("a", "m" + std::to_string(i));
    auto all = read_after("a", 0);
    EXPECT_EQ(seqs(all.entries), (std::vector<std::int64_t>{3, 4, 5}));
    EXPECT_TRUE(all.truncated);
    EXPECT_TRUE(read_after("a", 1).truncated);
    EXPECT_TRUE(read_after("a", 1, 0).truncated);  // told even when no entry is asked for
    auto held = read_after("a", 2);
    EXPECT_EQ(seqs(held.entries), (std::vector<std::int64_t>{3, 4, 5}));
    EXPECT_FALSE(held.truncated);
    EXPECT_FALSE(read_after("a", 4, 0).truncated);
  }

  void history_and_dedupe_expire_by_the_clock() {
    FeedOptions options;
    options.history_ttl = 60'000ms;
    options.dedupe_ttl = 1'000ms;
    open(options);
    EXPECT_EQ(append("a", "one", "k").seq, 1);
    clock_.advance(1'001ms);
    Appended resent = append("a", "one, much later", "k");  // the key is forgotten
    EXPECT_FALSE(resent.duplicate);
    EXPECT_EQ(resent.seq, 2);
    clock_.advance(59'000ms);  // 60 s after the first append, 59 s after the last: still held
    EXPECT_EQ(read_after("a", 0).entries.size(), 2u);
    clock_.advance(1'001ms);
    auto gone = read_after("a", 0);
    EXPECT_TRUE(gone.entries.empty());
    EXPECT_EQ(gone.last_seq, 0);
    EXPECT_EQ(append("a", "afresh").seq, 1);
    EXPECT_EQ(seqs(read_after("a", 0).entries), (std::vector<std::int64_t>{1}));
  }

  void without_history_only_the_seq_counts() {
    FeedOptions options;
    options.keep_history = false;
    options.history = 2;
    open(options);
    EXPECT_EQ(append("a", "one", "k").seq, 1);
    EXPECT_EQ(append("a", "two", "k").seq, 2);  // no dedupe without history
    EXPECT_EQ(append("a", "three").seq, 3);
    auto h = read_after("a", 0);
    EXPECT_TRUE(h.entries.empty());
    EXPECT_EQ(h.last_seq, 3);
    EXPECT_FALSE(h.truncated);
  }

  void a_watcher_hears_another_providers_append() {
    open();
    FeedProvider& other = listener();
    other.start(sink_);
    watch(other, "a");
    append("a", "hello");
    ASSERT_TRUE(sink_.wait_for_seq("a", 1));
    auto heard = sink_.of("a");
    ASSERT_EQ(heard.size(), 1u);
    EXPECT_EQ(heard[0].body, "hello");
    append("a", "again");
    ASSERT_TRUE(sink_.wait_for_seq("a", 2));
    EXPECT_EQ(sink_.of("a").back().body, "again");
  }

  // Appends reach a listener in the order they were made, so an unwatched room's append made
  // before a watched one's would have arrived by the time the watched one did.
  void only_watched_rooms_are_delivered() {
    open();
    FeedProvider& other = listener();
    other.start(sink_);
    watch(other, "a");
    append("b", "unwatched");
    append("a", "watched");
    ASSERT_TRUE(sink_.wait_for_seq("a", 1));
    EXPECT_TRUE(sink_.of("b").empty());

    // Watches are counted: one unwatch of two leaves the room watched.
    other.watch("a");
    other.unwatch("a");
    append("a", "still watched");
    ASSERT_TRUE(sink_.wait_for_seq("a", 2));

    other.unwatch("a");
    watch(other, "marker");
    append("a", "no longer watched");
    append("marker", "after it");
    ASSERT_TRUE(sink_.wait_for_seq("marker", 1));
    EXPECT_EQ(seqs(sink_.of("a")), (std::vector<std::int64_t>{1, 2}));
  }

  std::string backend_;
  core::ManualClock clock_;
  StoreOptions store_;
  FeedOptions options_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::string engine_url_;  // the shared engine, emptied for this test
  RecordingSink sink_;  // outlives the providers
  boost::asio::io_context io_;
  std::unique_ptr<FeedProvider> a_;
  std::unique_ptr<FeedProvider> b_;
  std::shared_ptr<Feed> feed_;
};

}  // namespace outboard::state::feed_testing
