// The redis store's near-cache against a private redis-server: hits cost no command, another
// client's write evicts through CLIENT TRACKING, a dropped invalidation connection flushes, and
// an invalidation that crosses a read's reply leaves nothing stale. No timing: each test waits
// (bounded) for the cache's own counters to show the event.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"
#include "state/store.hpp"
#include "redis_elsewhere.hpp"
#include "support/gateway_process.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

// A bounded wait (10 s) for an event the cache's counters show; not a timing check.
template <class Predicate>
bool wait_for(Predicate done) {
  return testing::wait_until(done, std::chrono::seconds(10), std::chrono::milliseconds(2));
}

class NearCacheRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.clock = &clock_;  // never advanced: no value reaches its TTL here
    options.near_cache_keys = 100;
    options.near_cache_before_fill = [this](std::string const& key) {
      if (before_fill_) before_fill_(key);
    };
    provider_ = open_store(redis_.url(), options);
    store_ = provider_->store_for(io_.get_executor());
    ASSERT_TRUE(wait_for([&] { return stats().linked; })) << "the invalidation connection never subscribed";
  }

  NearCacheStats stats() const { return *provider_->near_cache_stats(); }

  template <class T>
  Result<T> run(boost::asio::awaitable<Result<T>> op) {
    return run_coro(io_, std::move(op));
  }

  Result<Reply> elsewhere(std::initializer_list<std::string_view> args) { return redis_elsewhere(redis_.port(), args); }
  std::int64_t calls(std::string const& command) { return redis_calls(redis_.port(), command); }

  std::optional<std::string> get(std::string const& key) {
    auto r = run(store_->get(key));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r ? *r : std::nullopt;
  }

  core::ManualClock clock_;
  testing::RedisServer redis_;
  boost::asio::io_context io_;
  std::function<void(std::string const&)> before_fill_;
  std::unique_ptr<StoreProvider> provider_;
  std::shared_ptr<Store> store_;
};

// (1) The second read of a key, and of a session hash, is answered without a command to Redis.
TEST_F(NearCacheRedis, AHitIsServedWithoutAStoreCommand) {
  ASSERT_TRUE(elsewhere({"SET", "k", "v"}).has_value());
  ASSERT_TRUE(elsewhere({"HSET", "session:1", "user", "ada"}).has_value());
  EXPECT_EQ(get("k"), "v");
  ASSERT_TRUE(run(store_->hgetall("session:1")).has_value());
  auto gets = calls("get");
  auto hgetalls = calls("hgetall");

  EXPECT_EQ(get("k"), "v");
  auto session = run(store_->hgetall("session:1"));
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ((*session)["user"], "ada");

  EXPECT_EQ(calls("get"), gets);
  EXPECT_EQ(calls("hgetall"), hgetalls);
  EXPECT_EQ(stats().hits, 2u);
}

// (2) Another client's write reaches us as an invalidation, and the next read sees the new value.
TEST_F(NearCacheRedis, AnInvalidationFromAnotherClientEvicts) {
  ASSERT_TRUE(elsewhere({"SET", "k", "v1"}).has_value());
  EXPECT_EQ(get("k"), "v1");
  EXPECT_EQ(get("k"), "v1");  // a hit: the cached copy is what the write must evict
  ASSERT_EQ(stats().hits, 1u);

  ASSERT_TRUE(elsewhere({"SET", "k", "v2"}).has_value());
  ASSERT_TRUE(wait_for([&] { return stats().invalidations >= 1; }));
  EXPECT_EQ(get("k"), "v2");
}

// Redis tracks only what the cache read (OPTIN): keys the store reads for other purposes (a
// compare-and-set's script, a commit's conditions) are not tracked, so writes to them send us no
// invalidation and Redis's tracking table does not grow with every key the process touches.
TEST_F(NearCacheRedis, OnlyTheCachesOwnReadsAreTracked) {
  auto tracked_keys = [&] { return redis_info_number(redis_.port(), "stats", "tracking_total_keys:"); };
  ASSERT_TRUE(elsewhere({"SET", "cached", "v"}).has_value());
  EXPECT_EQ(get("cached"), "v");
  ASSERT_EQ(tracked_keys(), 1);

  ASSERT_TRUE(elsewhere({"SET", "record", "running"}).has_value());
  auto swapped = run(store_->compare_and_set("record", "running", "done"));
  ASSERT_TRUE(swapped.has_value() && *swapped);
  auto committed = run(store_->commit_if({Condition::equals("record", "done")}, {Write::set("other", "x")}));
  ASSERT_TRUE(committed.has_value() && *committed);
  EXPECT_EQ(tracked_keys(), 1) << "a key read by a script or a commit's condition was tracked";

  // And the cached key still is: another client's write evicts it.
  ASSERT_TRUE(elsewhere({"SET", "cached", "v2"}).has_value());
  ASSERT_TRUE(wait_for([&] { return stats().invalidations >= 1; }));
  EXPECT_EQ(get("cached"), "v2");
}

// Redis may allow CLIENT TRACKING and refuse CLIENT CACHING (an ACL): then no read is tracked,
// and nothing may be cached, since no invalidation would ever evict it.
TEST_F(NearCacheRedis, NothingIsCachedWhenRedisRefusesClientCaching) {
  ASSERT_TRUE(elsewhere({"ACL", "SETUSER", "default", "-client|caching"}).has_value());
  ASSERT_TRUE(elsewhere({"SET", "k", "v1"}).has_value());
  EXPECT_EQ(get("k"), "v1");
  EXPECT_EQ(get("k"), "v1");
  EXPECT_EQ(stats().hits, 0u) << "a read Redis did not track was cached";
  ASSERT_TRUE(elsewhere({"SET", "k", "v2"}).has_value());
  EXPECT_EQ(get("k"), "v2");
}

// FLUSHALL arrives as a message without keys: everything goes.
TEST_F(NearCacheRedis, AFlushAllFlushesTheCache) {
  ASSERT_TRUE(elsewhere({"SET", "k", "v"}).has_value());
  EXPECT_EQ(get("k"), "v");
  ASSERT_TRUE(elsewhere({"FLUSHALL"}).has_value());
  ASSERT_TRUE(wait_for([&] { return stats().flushes >= 1; }));
  EXPECT_EQ(get("k"), std::nullopt);
}

// (3) The invalidation connection killed: Redis would no longer tell us about changes, so the
// cache is flushed, and a write made after that is seen.
TEST_F(NearCacheRedis, ADroppedInvalidationConnectionFlushesTheCache) {
  ASSERT_TRUE(elsewhere({"SET", "k", "v1"}).has_value());
  EXPECT_EQ(get("k"), "v1");
  ASSERT_EQ(stats().entries, 1u);

  ASSERT_TRUE(elsewhere({"CLIENT", "KILL", "TYPE", "pubsub"}).has_value());
  ASSERT_TRUE(wait_for([&] { return stats().flushes >= 1; }));
  // Our data connection still redirects its tracking to the dead client: this write's
  // invalidation goes nowhere. Only the flush keeps the old value from being served.
  ASSERT_TRUE(elsewhere({"SET", "k", "v2"}).has_value());
  EXPECT_EQ(get("k"), "v2");
  // The listener comes back, and caching with it (tracking now redirected to the new client).
  ASSERT_TRUE(wait_for([&] { return stats().linked; }));
  EXPECT_EQ(get("k"), "v2");
  ASSERT_TRUE(elsewhere({"SET", "k", "v3"}).has_value());
  ASSERT_TRUE(wait_for([&] { return stats().invalidations >= 1; }));
  EXPECT_EQ(get("k"), "v3");
}

// Redis forgets a client's tracking with the client: when a data connection drops, what was read
// through it would never be invalidated, so the cache is flushed.
TEST_F(NearCacheRedis, ADroppedDataConnectionFlushesTheCache) {
  ASSERT_TRUE(elsewhere({"SET", "k", "v1"}).has_value());
  EXPECT_EQ(get("k"), "v1");
  ASSERT_TRUE(elsewhere({"CLIENT", "KILL", "TYPE", "normal"}).has_value());  // the store's, not ours
  // The store's event loop must run to see its connection closed.
  ASSERT_TRUE(wait_for([&] {
    io_.restart();
    io_.poll();
    return stats().flushes >= 1;
  }));
  ASSERT_TRUE(elsewhere({"SET", "k", "v2"}).has_value());  // no invalidation for it can come
  EXPECT_EQ(get("k"), "v2");
}

// (4) The placeholder rule on a real server: the read has run in Redis and its reply is in our
// hands, but before it is stored another client writes the key and the invalidation arrives.
// The reply must not be cached, or the old value would be served until the TTL.
TEST_F(NearCacheRedis, AWriteRacingAReadNeverLeavesAStaleEntry) {
  ASSERT_TRUE(elsewhere({"SET", "race", "old"}).has_value());
  bool crossed = false;
  before_fill_ = [&](std::string const& key) {
    if (key != "race" || crossed) return;
    crossed = true;
    auto seen = stats().invalidations;
    ASSERT_TRUE(elsewhere({"SET", "race", "new"}).has_value());
    ASSERT_TRUE(wait_for([&] { return stats().invalidations > seen; }));
  };
  EXPECT_EQ(get("race"), "old");  // what Redis answered before the write
  ASSERT_TRUE(crossed);
  auto gets = calls("get");
  EXPECT_EQ(get("race"), "new");
  EXPECT_EQ(calls("get"), gets + 1) << "the stale reply was cached";
}

}  // namespace
}  // namespace outboard::state
