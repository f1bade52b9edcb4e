// Store::commit_if on every backend (memory, sqlite, a real redis-server): conditions of each
// kind both ways, all-or-nothing writes, types, TTLs, and races that must have exactly one winner
// or lose no update. As in the conformance suite, memory and sqlite expire keys by a ManualClock
// the test advances; redis by its own clock, so there TTLs are checked with PTTL. The keys of a
// test share the hash tag "{t}", so that on a Redis Cluster they live in one slot.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <array>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "state/store.hpp"
#include "support/param_name.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/store_engines.hpp"
#include "support/temp_dir.hpp"
#include "support/forked_child.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

struct TransactionBackend {
  std::string name;
  bool manual_clock;  // false: the backend keeps time itself (redis)
};

void PrintTo(TransactionBackend const& backend, std::ostream* os) { *os << backend.name; }

class StoreTransaction : public ::testing::TestWithParam<TransactionBackend> {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    provider_ = open_provider();
    store_ = provider_->store_for(io_.get_executor());
  }

  // A provider on the test's state: for memory the same process-local store cannot be opened
  // twice, so callers that want a second view of memory share provider_ instead.
  std::unique_ptr<StoreProvider> open_provider() {
    std::string const& name = GetParam().name;
    if (name == "memory") return open_store("memory://", options_);
    if (name == "sqlite") return open_store("sqlite://" + (dir_ / "state.db").string(), options_);
    if (name == "redis-cluster") return open_store(cluster_url(), options_);
    if (name == "postgres") return open_store(postgres_url(), options_);
    if (!redis_) redis_ = std::make_unique<testing::RedisServer>();
    return open_store(redis_->url(3), options_);
  }

  template <class T>
  T run(boost::asio::awaitable<Result<T>> op) {
    auto r = run_coro(io_, std::move(op));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return r.has_value() ? *r : T{};
    }
  }

  bool commit(std::vector<Condition> conditions, std::vector<Write> writes) {
    return run(store_->commit_if(std::move(conditions), std::move(writes)));
  }

  void expect_invalid(std::vector<Condition> conditions, std::vector<Write> writes) {
    auto r = run_coro(io_, store_->commit_if(std::move(conditions), std::move(writes)));
    ASSERT_FALSE(r.has_value()) << "expected Errc::invalid, got " << *r;
    EXPECT_EQ(r.error().code, Errc::invalid) << r.error().describe();
  }

  // Expire a key: advance the manual clock, or for redis check the deadline is set and let
  // the key go by shortening its TTL to 1 ms and asking until it is gone (bounded).
  void let_expire(std::string const& key, Millis ttl) {
    if (GetParam().manual_clock) {
      clock_.advance(ttl + 1ms);
      return;
    }
    std::int64_t left = run(store_->pttl(key));
    EXPECT_GT(left, 0);
    EXPECT_LE(left, ttl.count());
    run(store_->expire(key, 1ms));
    for (int i = 0; i < 1000 && run(store_->pttl(key)) != kNoKey; ++i) {
      std::this_thread::sleep_for(1ms);
    }
  }

  // One emptied engine per test; a second provider in the same test opens the same one.
  std::string const& cluster_url() {
    if (shared_url_.empty()) shared_url_ = testing::fresh_redis_cluster_url();
    return shared_url_;
  }
  std::string const& postgres_url() {
    if (shared_url_.empty()) shared_url_ = testing::fresh_postgres_url();
    return shared_url_;
  }

  core::ManualClock clock_;
  StoreOptions options_;
  testing::TempDir dir_;
  std::string shared_url_;
  std::unique_ptr<testing::RedisServer> redis_;
  boost::asio::io_context io_;
  std::unique_ptr<StoreProvider> provider_;
  std::shared_ptr<Store> store_;
};

// A few keys of every type, to check that a refused transaction leaves all of them alone.
void seed(Store& store, boost::asio::io_context& io) {
  ASSERT_TRUE(run_coro(io, store.set("{t}s", "string")).has_value());
  ASSERT_TRUE(run_coro(io, store.hset("{t}cart", {{"a", "1"}, {"b", "2"}})).has_value());
  ASSERT_TRUE(run_coro(io, store.list_push("{t}l", "item")).has_value());
}

TEST_P(StoreTransaction, AllConditionsTrueAppliesEveryWrite) {
  seed(*store_, io_);
  EXPECT_TRUE(commit({Condition::absent("{t}order"), Condition::field_absent("{t}cart", "c"),
                      Condition::hash_len("{t}cart", 2)},
                     {Write::set("{t}order", "o-1"), Write::hset("{t}cart", "c", "3"),
                      Write::hset("{t}orders", "o-1", "placed"), Write::del("{t}l"),
                      Write::set("{t}s", "replaced")}));
  EXPECT_EQ(run(store_->get("{t}order")), "o-1");
  EXPECT_EQ(run(store_->hgetall("{t}cart")), (FieldMap{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(run(store_->hgetall("{t}orders")), (FieldMap{{"o-1", "placed"}}));
  EXPECT_TRUE(run(store_->list_range("{t}l")).empty());
  EXPECT_EQ(run(store_->pttl("{t}l")), kNoKey);
  EXPECT_EQ(run(store_->get("{t}s")), "replaced");
}

TEST_P(StoreTransaction, OneFalseConditionWritesNothing) {
  std::vector<std::vector<Condition>> refused = {
      {Condition::absent("{t}s"), Condition::absent("{t}order"), Condition::hash_len("{t}cart", 2)},
      {Condition::absent("{t}order"), Condition::field_absent("{t}cart", "b"),
       Condition::hash_len("{t}cart", 2)},
      {Condition::absent("{t}order"), Condition::field_absent("{t}cart", "c"),
       Condition::hash_len("{t}cart", 3)},
      // The false one last: earlier true ones must not have let writes through.
      {Condition::absent("{t}order"), Condition::hash_len("{t}cart", 2), Condition::absent("{t}l")},
  };
  seed(*store_, io_);
  for (std::size_t i = 0; i < refused.size(); ++i) {
    SCOPED_TRACE("refused transaction " + std::to_string(i));
    EXPECT_FALSE(commit(refused[i], {Write::set("{t}order", "o-1"), Write::hset("{t}cart", "c", "3"),
                                     Write::hset("{t}new-hash", "f", "v"), Write::del("{t}l"),
                                     Write::del("{t}s"), Write::set("{t}s", "other", 1000ms)}));
    EXPECT_EQ(run(store_->get("{t}order")), std::nullopt);
    EXPECT_EQ(run(store_->pttl("{t}order")), kNoKey);
    EXPECT_EQ(run(store_->hgetall("{t}cart")), (FieldMap{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(run(store_->pttl("{t}new-hash")), kNoKey);
    EXPECT_EQ(run(store_->list_range("{t}l")), (std::vector<std::string>{"item"}));
    EXPECT_EQ(run(store_->get("{t}s")), "string");
    EXPECT_EQ(run(store_->pttl("{t}s")), kNoExpiry);
  }
}

TEST_P(StoreTransaction, KeyAbsentBothWaysForEveryType) {
  seed(*store_, io_);
  for (char const* present : {"{t}s", "{t}cart", "{t}l"}) {
    SCOPED_TRACE(present);
    EXPECT_FALSE(commit({Condition::absent(present)}, {Write::set("{t}marker", present)}));
  }
  EXPECT_EQ(run(store_->get("{t}marker")), std::nullopt);
  EXPECT_TRUE(commit({Condition::absent("{t}missing")}, {Write::set("{t}marker", "yes")}));
  EXPECT_EQ(run(store_->get("{t}marker")), "yes");
}

TEST_P(StoreTransaction, ExpiredKeyCountsAsAbsent) {
  run(store_->set("{t}lock", "held", 3000ms));
  EXPECT_FALSE(commit({Condition::absent("{t}lock")}, {Write::set("{t}lock", "mine")}));
  EXPECT_EQ(run(store_->get("{t}lock")), "held");
  let_expire("{t}lock", 3000ms);
  EXPECT_TRUE(commit({Condition::absent("{t}lock")}, {Write::set("{t}lock", "mine")}));
  EXPECT_EQ(run(store_->get("{t}lock")), "mine");
  EXPECT_EQ(run(store_->pttl("{t}lock")), kNoExpiry);
}

TEST_P(StoreTransaction, HashFieldAbsentBothWays) {
  run(store_->hset("{t}h", {{"taken", "1"}}));
  EXPECT_FALSE(commit({Condition::field_absent("{t}h", "taken")}, {Write::hset("{t}h", "taken", "2")}));
  EXPECT_EQ(run(store_->hget("{t}h", "taken")), "1");
  EXPECT_TRUE(commit({Condition::field_absent("{t}h", "free")}, {Write::hset("{t}h", "free", "2")}));
  EXPECT_EQ(run(store_->hget("{t}h", "free")), "2");
  // A missing hash has no fields at all.
  EXPECT_TRUE(commit({Condition::field_absent("{t}nohash", "f")}, {Write::hset("{t}nohash", "f", "v")}));
  EXPECT_EQ(run(store_->hgetall("{t}nohash")), (FieldMap{{"f", "v"}}));
}

TEST_P(StoreTransaction, HashFieldOfExpiredHashIsAbsent) {
  run(store_->hset("{t}h", {{"f", "old"}}, 2000ms));
  EXPECT_FALSE(commit({Condition::field_absent("{t}h", "f")}, {Write::hset("{t}h", "f", "new")}));
  let_expire("{t}h", 2000ms);
  EXPECT_TRUE(commit({Condition::field_absent("{t}h", "f")}, {Write::hset("{t}h", "f", "new")}));
  EXPECT_EQ(run(store_->hgetall("{t}h")), (FieldMap{{"f", "new"}}));
  // The new hash is a new key: the old TTL did not come back with it.
  EXPECT_EQ(run(store_->pttl("{t}h")), kNoExpiry);
}

TEST_P(StoreTransaction, HashLenEqualsBothWays) {
  // A missing hash has length 0.
  EXPECT_FALSE(commit({Condition::hash_len("{t}cart", 1)}, {Write::set("{t}x", "1")}));
  EXPECT_TRUE(commit({Condition::hash_len("{t}cart", 0)}, {Write::hset("{t}cart", "a", "1")}));
  EXPECT_FALSE(commit({Condition::hash_len("{t}cart", 0)}, {Write::hset("{t}cart", "b", "2")}));
  EXPECT_FALSE(commit({Condition::hash_len("{t}cart", 2)}, {Write::hset("{t}cart", "b", "2")}));
  EXPECT_TRUE(commit({Condition::hash_len("{t}cart", 1)}, {Write::hset("{t}cart", "b", "2")}));
  EXPECT_EQ(run(store_->hgetall("{t}cart")), (FieldMap{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  // An emptied hash is gone, so its length is 0 again.
  run(store_->hdel("{t}cart", {"a", "b"}));
  EXPECT_TRUE(commit({Condition::hash_len("{t}cart", 0)}, {Write::set("{t}x", "1")}));
}

TEST_P(StoreTransaction, HashLenOfExpiredHashIsZero) {
  run(store_->hset("{t}cart", {{"a", "1"}, {"b", "2"}}, 4000ms));
  EXPECT_FALSE(commit({Condition::hash_len("{t}cart", 0)}, {Write::set("{t}x", "1")}));
  EXPECT_TRUE(commit({Condition::hash_len("{t}cart", 2)}, {}));
  let_expire("{t}cart", 4000ms);
  EXPECT_FALSE(commit({Condition::hash_len("{t}cart", 2)}, {Write::set("{t}x", "1")}));
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  EXPECT_TRUE(commit({Condition::hash_len("{t}cart", 0)}, {Write::set("{t}x", "1")}));
  EXPECT_EQ(run(store_->get("{t}x")), "1");
}

TEST_P(StoreTransaction, ValueEqualsBothWays) {
  // A missing key equals nothing, not even the empty string.
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "")}, {Write::set("{t}x", "1")}));
  run(store_->set("{t}fence", "1"));
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "2")}, {Write::set("{t}x", "2")}));
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "1 ")}, {Write::set("{t}x", "3")}));
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "")}, {Write::set("{t}x", "4")}));
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  EXPECT_TRUE(commit({Condition::equals("{t}fence", "1")}, {Write::set("{t}x", "5")}));
  EXPECT_EQ(run(store_->get("{t}x")), "5");
  // A newer fence refuses the old one: what keeps a worker that lost its lease from committing.
  run(store_->set("{t}fence", "2"));
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "1")}, {Write::set("{t}x", "6")}));
  EXPECT_TRUE(commit({Condition::equals("{t}fence", "2")}, {Write::set("{t}x", "7")}));
  EXPECT_EQ(run(store_->get("{t}x")), "7");
  // The empty string is a value like any other.
  run(store_->set("{t}empty", ""));
  EXPECT_TRUE(commit({Condition::equals("{t}empty", "")}, {}));
}

TEST_P(StoreTransaction, ValueEqualsOnAnotherTypeIsFalseNotInvalid) {
  seed(*store_, io_);
  // A hash or a list is not the value: the condition fails, the call does not.
  EXPECT_FALSE(commit({Condition::equals("{t}cart", "1")}, {Write::set("{t}x", "1")}));
  EXPECT_FALSE(commit({Condition::equals("{t}l", "item")}, {Write::set("{t}x", "2")}));
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  // A true one beside them does not rescue the transaction.
  EXPECT_FALSE(commit({Condition::equals("{t}s", "string"), Condition::equals("{t}cart", "")},
                      {Write::set("{t}x", "3")}));
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  // A type error elsewhere still wins over the false answer.
  expect_invalid({Condition::equals("{t}cart", "1")}, {Write::hset("{t}s", "f", "v")});
  EXPECT_TRUE(commit({Condition::equals("{t}s", "string")}, {Write::set("{t}x", "4")}));
  EXPECT_EQ(run(store_->get("{t}x")), "4");
}

TEST_P(StoreTransaction, ValueEqualsOfExpiredKeyIsFalse) {
  run(store_->set("{t}fence", "3", 2000ms));
  EXPECT_TRUE(commit({Condition::equals("{t}fence", "3")}, {}));
  let_expire("{t}fence", 2000ms);
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "3")}, {Write::set("{t}x", "1")}));
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
}

TEST_P(StoreTransaction, ValueEqualsJudgesTheValueBeforeTheWrites) {
  run(store_->set("{t}fence", "1"));
  // Conditions see the keys as they were: a write of the same transaction does not count.
  EXPECT_FALSE(commit({Condition::equals("{t}fence", "2")}, {Write::set("{t}fence", "2")}));
  EXPECT_EQ(run(store_->get("{t}fence")), "1");
  EXPECT_TRUE(commit({Condition::equals("{t}fence", "1")}, {Write::set("{t}fence", "2")}));
  EXPECT_EQ(run(store_->get("{t}fence")), "2");
}

TEST_P(StoreTransaction, PushAppendsInOrderAndCreatesTheList) {
  EXPECT_TRUE(commit({}, {Write::push("{t}outbox", "a")}));
  EXPECT_EQ(run(store_->list_range("{t}outbox")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(run(store_->pttl("{t}outbox")), kNoExpiry);
  EXPECT_TRUE(commit({}, {Write::push("{t}outbox", "b"), Write::push("{t}outbox", "c"), Write::push("{t}other", "x")}));
  EXPECT_EQ(run(store_->list_range("{t}outbox")), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(run(store_->list_range("{t}other")), (std::vector<std::string>{"x"}));
  // A list written by list_push and by a transaction is one list.
  run(store_->list_push("{t}outbox", "d"));
  EXPECT_TRUE(commit({}, {Write::push("{t}outbox", "e")}));
  EXPECT_EQ(run(store_->list_range("{t}outbox")), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(run(store_->list_push("{t}outbox", "f")), 6);
  // A deleted list starts again; writes apply in order.
  EXPECT_TRUE(commit({}, {Write::del("{t}outbox"), Write::push("{t}outbox", "new")}));
  EXPECT_EQ(run(store_->list_range("{t}outbox")), (std::vector<std::string>{"new"}));
  EXPECT_TRUE(commit({}, {Write::push("{t}gone", "1"), Write::del("{t}gone")}));
  EXPECT_EQ(run(store_->pttl("{t}gone")), kNoKey);
}

TEST_P(StoreTransaction, FencedPushHappensOnceForTheLatestFence) {
  // The receipt job's commit: push to the outbox only while the claim's fence is the latest.
  run(store_->set("{t}job:{receipt:o-1}:fence", "1"));
  auto receipt = [&](char const* fence) {
    return commit({Condition::equals("{t}job:{receipt:o-1}:fence", fence), Condition::field_absent("{t}receipts", "o-1")},
                  {Write::hset("{t}receipts", "o-1", fence), Write::push("{t}outbox", std::string("o-1 by ") + fence)});
  };
  run(store_->set("{t}job:{receipt:o-1}:fence", "2"));  // claimed again: fence 1 is stale
  EXPECT_FALSE(receipt("1"));
  EXPECT_TRUE(receipt("2"));
  EXPECT_FALSE(receipt("2"));  // already recorded
  EXPECT_EQ(run(store_->list_range("{t}outbox")), (std::vector<std::string>{"o-1 by 2"}));
  EXPECT_EQ(run(store_->hgetall("{t}receipts")), (FieldMap{{"o-1", "2"}}));
}

TEST_P(StoreTransaction, PushOnAnotherTypeIsInvalidAndWritesNothing) {
  seed(*store_, io_);
  expect_invalid({}, {Write::set("{t}x", "1"), Write::push("{t}s", "v")});
  expect_invalid({}, {Write::push("{t}l", "more"), Write::push("{t}cart", "v")});
  // Also when a condition is false: a type error is never hidden by a false answer.
  expect_invalid({Condition::absent("{t}s")}, {Write::push("{t}cart", "v")});
  // Types follow the writes in order.
  expect_invalid({}, {Write::set("{t}fresh", "1"), Write::push("{t}fresh", "v")});
  expect_invalid({}, {Write::push("{t}fresh", "v"), Write::hset("{t}fresh", "f", "v")});
  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  EXPECT_EQ(run(store_->pttl("{t}fresh")), kNoKey);
  EXPECT_EQ(run(store_->list_range("{t}l")), (std::vector<std::string>{"item"}));
  EXPECT_EQ(run(store_->get("{t}s")), "string");
  // A string deleted earlier in the writes may become a list.
  EXPECT_TRUE(commit({}, {Write::del("{t}s"), Write::push("{t}s", "v")}));
  EXPECT_EQ(run(store_->list_range("{t}s")), (std::vector<std::string>{"v"}));
  // A false condition writes nothing, pushes included.
  EXPECT_FALSE(commit({Condition::absent("{t}l")}, {Write::push("{t}l", "no"), Write::push("{t}new-list", "no")}));
  EXPECT_EQ(run(store_->list_range("{t}l")), (std::vector<std::string>{"item"}));
  EXPECT_EQ(run(store_->pttl("{t}new-list")), kNoKey);
}

TEST_P(StoreTransaction, PushWriteTtl) {
  EXPECT_TRUE(commit({}, {Write::push("{t}l", "a", 7000ms)}));
  std::int64_t left = run(store_->pttl("{t}l"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  // Without a ttl, push leaves the key's TTL as it was.
  EXPECT_TRUE(commit({}, {Write::push("{t}l", "b")}));
  left = run(store_->pttl("{t}l"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  EXPECT_EQ(run(store_->list_range("{t}l")), (std::vector<std::string>{"a", "b"}));
  // With a ttl, push sets a TTL on a list that had none.
  run(store_->list_push("{t}forever", "a"));
  EXPECT_TRUE(commit({}, {Write::push("{t}forever", "b", 60000ms)}));
  left = run(store_->pttl("{t}forever"));
  EXPECT_GT(left, 50000);
  EXPECT_LE(left, 60000);
  EXPECT_EQ(run(store_->list_range("{t}forever")), (std::vector<std::string>{"a", "b"}));
  let_expire("{t}l", 7000ms);
  EXPECT_TRUE(run(store_->list_range("{t}l")).empty());
  // A TTL <= 0 expires on arrival, as for the other writes.
  EXPECT_TRUE(commit({}, {Write::push("{t}now", "x", 0ms)}));
  EXPECT_EQ(run(store_->pttl("{t}now")), kNoKey);
}

TEST_P(StoreTransaction, WrongTypeIsInvalidAndWritesNothing) {
  seed(*store_, io_);
  auto writes = [] {
    return std::vector<Write>{Write::set("{t}x", "1"), Write::hset("{t}new-hash", "f", "v"),
                              Write::del("{t}cart"), Write::set("{t}l", "replaced")};
  };
  // Conditions on a key of another type...
  expect_invalid({Condition::hash_len("{t}s", 0)}, writes());
  expect_invalid({Condition::field_absent("{t}l", "f")}, writes());
  // ... also when another condition is false: a type error is never hidden by a false answer.
  expect_invalid({Condition::absent("{t}s"), Condition::hash_len("{t}s", 0)}, writes());
  expect_invalid({Condition::hash_len("{t}cart", 7), Condition::field_absent("{t}s", "f")}, writes());
  // A write on a key of another type, after writes that must then not have happened.
  auto with_bad_hset = writes();
  with_bad_hset.push_back(Write::hset("{t}s", "f", "v"));
  expect_invalid({Condition::absent("{t}order")}, with_bad_hset);
  // Types follow the writes in order: a key just set is a string, even if it was absent.
  expect_invalid({}, {Write::set("{t}fresh", "1"), Write::hset("{t}fresh", "f", "v")});
  expect_invalid({}, {Write::hset("{t}l", "f", "v")});

  EXPECT_EQ(run(store_->get("{t}x")), std::nullopt);
  EXPECT_EQ(run(store_->get("{t}fresh")), std::nullopt);
  EXPECT_EQ(run(store_->pttl("{t}new-hash")), kNoKey);
  EXPECT_EQ(run(store_->hgetall("{t}cart")), (FieldMap{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(run(store_->list_range("{t}l")), (std::vector<std::string>{"item"}));
  EXPECT_EQ(run(store_->get("{t}s")), "string");

  // key_absent works on any type, and a key deleted earlier in the writes may become a hash.
  EXPECT_TRUE(commit({Condition::absent("{t}order")}, {Write::del("{t}s"), Write::hset("{t}s", "f", "v")}));
  EXPECT_EQ(run(store_->hgetall("{t}s")), (FieldMap{{"f", "v"}}));
}

TEST_P(StoreTransaction, SetWriteTtlIsAsInSet) {
  EXPECT_TRUE(commit({}, {Write::set("{t}k", "v", 60000ms)}));
  std::int64_t left = run(store_->pttl("{t}k"));
  EXPECT_GT(left, 50000);
  EXPECT_LE(left, 60000);
  // Without a ttl, set clears the TTL, as Store::set does.
  EXPECT_TRUE(commit({}, {Write::set("{t}k", "v2")}));
  EXPECT_EQ(run(store_->pttl("{t}k")), kNoExpiry);
  EXPECT_TRUE(commit({}, {Write::set("{t}k", "v3", 5000ms)}));
  let_expire("{t}k", 5000ms);
  EXPECT_EQ(run(store_->get("{t}k")), std::nullopt);
  // set replaces a key of any type, TTL included.
  run(store_->hset("{t}h", {{"f", "1"}}, 60000ms));
  EXPECT_TRUE(commit({}, {Write::set("{t}h", "now a string")}));
  EXPECT_EQ(run(store_->get("{t}h")), "now a string");
  EXPECT_EQ(run(store_->pttl("{t}h")), kNoExpiry);
}

TEST_P(StoreTransaction, HsetWriteTtlIsAsInHset) {
  EXPECT_TRUE(commit({}, {Write::hset("{t}h", "a", "1", 7000ms)}));
  std::int64_t left = run(store_->pttl("{t}h"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  // Without a ttl, hset leaves the key's TTL as it was.
  EXPECT_TRUE(commit({}, {Write::hset("{t}h", "b", "2")}));
  left = run(store_->pttl("{t}h"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  EXPECT_EQ(run(store_->hgetall("{t}h")), (FieldMap{{"a", "1"}, {"b", "2"}}));
  // With a ttl, hset sets a TTL on a hash that had none.
  run(store_->hset("{t}forever", {{"a", "1"}}));
  EXPECT_TRUE(commit({}, {Write::hset("{t}forever", "b", "2")}));
  EXPECT_EQ(run(store_->pttl("{t}forever")), kNoExpiry);
  EXPECT_TRUE(commit({}, {Write::hset("{t}forever", "c", "3", 9000ms)}));
  left = run(store_->pttl("{t}forever"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 9000);
  let_expire("{t}h", 7000ms);
  EXPECT_TRUE(run(store_->hgetall("{t}h")).empty());
}

TEST_P(StoreTransaction, DelInsideATransaction) {
  seed(*store_, io_);
  EXPECT_TRUE(commit({Condition::absent("{t}order")},
                     {Write::set("{t}order", "o-1"), Write::del("{t}cart"), Write::del("{t}l"),
                      Write::del("{t}s"), Write::del("{t}never-existed")}));
  EXPECT_EQ(run(store_->get("{t}order")), "o-1");
  for (char const* gone : {"{t}cart", "{t}l", "{t}s", "{t}never-existed"}) {
    EXPECT_EQ(run(store_->pttl(gone)), kNoKey) << gone;
  }
  EXPECT_TRUE(run(store_->hgetall("{t}cart")).empty());
  // Writes apply in order: set then del leaves nothing, del then set leaves the value.
  EXPECT_TRUE(commit({}, {Write::set("{t}a", "1"), Write::del("{t}a"), Write::del("{t}b"),
                          Write::set("{t}b", "2")}));
  EXPECT_EQ(run(store_->get("{t}a")), std::nullopt);
  EXPECT_EQ(run(store_->get("{t}b")), "2");
  // A deleted hash starts again empty, with no TTL.
  run(store_->hset("{t}h", {{"old", "1"}}, 60000ms));
  EXPECT_TRUE(commit({}, {Write::del("{t}h"), Write::hset("{t}h", "new", "2")}));
  EXPECT_EQ(run(store_->hgetall("{t}h")), (FieldMap{{"new", "2"}}));
  EXPECT_EQ(run(store_->pttl("{t}h")), kNoExpiry);
}

TEST_P(StoreTransaction, EmptyTransactions) {
  EXPECT_TRUE(commit({}, {}));
  EXPECT_TRUE(commit({Condition::absent("{t}x"), Condition::hash_len("{t}h", 0)}, {}));
  run(store_->set("{t}x", "1"));
  EXPECT_FALSE(commit({Condition::absent("{t}x")}, {}));
}

TEST_P(StoreTransaction, BinarySafeKeysFieldsAndValues) {
  // Bytes that look like the redis encoding's own syntax, NULs and CR/LF in every position.
  std::string key("{t}k\0:1\r\n", 9);
  std::string field("f\0a1", 4);
  std::string value("v\0\xff\r\nn2:3", 9);
  EXPECT_TRUE(commit({Condition::absent(key), Condition::field_absent("{t}h1", field),
                      Condition::hash_len("{t}h1", 0)},
                     {Write::set(key, value), Write::hset("{t}h1", field, value),
                      Write::hset("{t}h1", "a1", "d1"), Write::set("{t}s1", "h1")}));
  EXPECT_EQ(run(store_->get(key)), value);
  EXPECT_EQ(run(store_->hgetall("{t}h1")), (FieldMap{{field, value}, {"a1", "d1"}}));
  EXPECT_EQ(run(store_->get("{t}s1")), "h1");
  EXPECT_EQ(run(store_->get("{t}k")), std::nullopt);
  EXPECT_FALSE(commit({Condition::field_absent("{t}h1", field)}, {Write::del(key)}));
  EXPECT_TRUE(commit({Condition::hash_len("{t}h1", 2)}, {Write::del(key)}));
  EXPECT_EQ(run(store_->get(key)), std::nullopt);
  // value_equals and push carry binary operands too; a prefix of the value is not the value.
  EXPECT_TRUE(commit({Condition::equals("{t}s1", "h1")}, {Write::set(key, value), Write::push("{t}l1", value)}));
  EXPECT_FALSE(commit({Condition::equals(key, value.substr(0, 1))}, {Write::push("{t}l1", "no")}));
  EXPECT_TRUE(commit({Condition::equals(key, value)}, {Write::push("{t}l1", field)}));
  EXPECT_EQ(run(store_->list_range("{t}l1")), (std::vector<std::string>{value, field}));
}

TEST_P(StoreTransaction, ManyKeysInOneTransaction) {
  std::vector<Condition> conditions;
  std::vector<Write> writes;
  for (int i = 0; i < 100; ++i) {
    conditions.push_back(Condition::absent("{t}k" + std::to_string(i)));
    writes.push_back(Write::set("{t}k" + std::to_string(i), std::to_string(i)));
    writes.push_back(Write::hset("{t}big", "f" + std::to_string(i), std::to_string(i)));
  }
  EXPECT_TRUE(commit(conditions, writes));
  EXPECT_EQ(run(store_->hgetall("{t}big")).size(), 100u);
  EXPECT_EQ(run(store_->get("{t}k99")), "99");
  EXPECT_FALSE(commit(conditions, writes));
}

TEST_P(StoreTransaction, ConcurrentCommitsOnOneKeyHaveExactlyOneWinner) {
  // 20 checkouts in flight at once, each creating the order only if there is none yet.
  constexpr int kContenders = 20;
  std::vector<std::future<Result<bool>>> pending;
  for (int i = 0; i < kContenders; ++i) {
    std::string id = std::to_string(i);
    pending.push_back(boost::asio::co_spawn(
        io_,
        store_->commit_if({Condition::absent("{t}order")},
                          {Write::set("{t}order", id), Write::hset("{t}cart", "owner", id),
                           Write::hset("{t}winners", id, "1")}),
        boost::asio::use_future));
  }
  int winners = 0;
  int winner = -1;
  for (int i = 0; i < kContenders; ++i) {
    testing::run_until_ready(io_, pending[i]);
    auto r = pending[i].get();
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    if (*r) {
      ++winners;
      winner = i;
    }
  }
  ASSERT_EQ(winners, 1);
  EXPECT_EQ(run(store_->get("{t}order")), std::to_string(winner));
  EXPECT_EQ(run(store_->hgetall("{t}cart")), (FieldMap{{"owner", std::to_string(winner)}}));
  EXPECT_EQ(run(store_->hgetall("{t}winners")), (FieldMap{{std::to_string(winner), "1"}}));
}

// Appends `count` entries prefix-0.. to "cart" by optimistic concurrency: read the length n, then
// write field "n" only if the length is still n; retry when someone else got there first. Two
// writers that both won on the same n would overwrite one slot and lose an entry, which
// expect_cart() catches. Returns how many attempts lost (for the message), or -1 on an error.
int add_fields_optimistically(Store& store, boost::asio::io_context& io, std::string const& prefix,
                              int count) {
  int retries = 0;
  for (int i = 0; i < count; ++i) {
    for (;;) {
      auto fields = run_coro(io, store.hgetall("{t}cart"));
      if (!fields) return -1;
      auto n = static_cast<std::int64_t>(fields->size());
      auto done = run_coro(io, store.commit_if({Condition::hash_len("{t}cart", n)},
                                               {Write::hset("{t}cart", std::to_string(n),
                                                            prefix + std::to_string(i))}));
      if (!done) return -1;
      if (*done) break;
      if (++retries > 100000) return -1;
    }
  }
  return retries;
}

// The cart holds slots "0".."N-1" and every writer's every entry exactly once.
void expect_cart(FieldMap const& cart, std::vector<std::string> const& prefixes, int per_writer) {
  std::size_t total = prefixes.size() * static_cast<std::size_t>(per_writer);
  EXPECT_EQ(cart.size(), total);
  std::set<std::string> entries;
  for (std::size_t slot = 0; slot < total; ++slot) {
    auto it = cart.find(std::to_string(slot));
    if (it == cart.end()) {
      ADD_FAILURE() << "slot " << slot << " is missing";
      continue;
    }
    entries.insert(it->second);
  }
  for (auto const& prefix : prefixes) {
    for (int i = 0; i < per_writer; ++i) {
      EXPECT_TRUE(entries.contains(prefix + std::to_string(i))) << "lost " << prefix << i;
    }
  }
}

TEST_P(StoreTransaction, TwoWritersOnSeparateConnectionsLoseNoUpdate) {
  // Two threads, each with its own event loop and (except memory) its own provider, so its own
  // connections: the check-then-write of one cannot slip between the other's.
  constexpr int kPerWriter = 100;
  // The event loops outlive the providers: a sqlite pool thread may hold a loop's work guard for
  // a moment after its last result is delivered.
  std::array<boost::asio::io_context, 2> loops;
  std::vector<std::unique_ptr<StoreProvider>> providers;
  if (GetParam().name != "memory") {
    providers.push_back(open_provider());
    providers.push_back(open_provider());
  }
  std::vector<int> results(2, 0);
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      boost::asio::io_context& io = loops[w];
      auto store = (providers.empty() ? *provider_ : *providers[w]).store_for(io.get_executor());
      results[w] = add_fields_optimistically(*store, io, "w" + std::to_string(w) + "-", kPerWriter);
      store.reset();
      io.restart();
      io.run_for(50ms);  // lets a redis store close its connection on its own loop
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_GE(results[0], 0);
  EXPECT_GE(results[1], 0);
  expect_cart(run(store_->hgetall("{t}cart")), {"w0-", "w1-"}, kPerWriter);
}

// Every key above shares the tag "{t}", so a Redis Cluster places them on one node. Keys that do
// not share one cannot be one atomic script there: the cluster store refuses them, naming them,
// before sending anything; every other backend commits them.
TEST_P(StoreTransaction, KeysInDifferentClusterSlotsAreInvalidOnlyOnACluster) {
  std::vector<Condition> conditions{Condition::absent("order:{alice}")};
  std::vector<Write> writes{Write::set("order:{alice}", "o-1"), Write::del("cart:{bob}")};
  if (GetParam().name != "redis-cluster") {
    EXPECT_TRUE(commit(conditions, writes));
    return;
  }
  auto r = run_coro(io_, store_->commit_if(conditions, writes));
  ASSERT_FALSE(r.has_value()) << "expected Errc::invalid, got " << *r;
  EXPECT_EQ(r.error().code, Errc::invalid) << r.error().describe();
  EXPECT_NE(r.error().context.find("must share a {tag}"), std::string::npos) << r.error().context;
  EXPECT_NE(r.error().context.find("cart:{bob}"), std::string::npos) << r.error().context;
  EXPECT_EQ(run(store_->get("order:{alice}")), std::nullopt);
  // The same keys under one tag commit.
  EXPECT_TRUE(commit({Condition::absent("{alice}order")}, {Write::set("{alice}order", "o-1"), Write::del("{alice}cart")}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTransaction,
                         ::testing::Values(TransactionBackend{"memory", true}, TransactionBackend{"sqlite", true},
                                           TransactionBackend{"redis", false}, TransactionBackend{"redis-cluster", false},
                                           TransactionBackend{"postgres", false}),
                         testing::ParamName{});

// --- sqlite only: two processes on one file ---

constexpr int kCartWrites = 200;

// Runs in a forked child with its own provider, opened after the fork (a sqlite connection must
// never cross a fork). Returns the exit code: 0 when all its fields went in.
int cart_writer(std::filesystem::path const& file, char const* name) {
  try {
    core::ManualClock clock;
    StoreOptions options;
    options.clock = &clock;
    // Declared before the provider, so destroyed after it (see sqlite_store_test.cpp).
    boost::asio::io_context io;
    auto provider = open_store("sqlite://" + file.string(), options);
    auto store = provider->store_for(io.get_executor());
    return add_fields_optimistically(*store, io, std::string(name) + "-", kCartWrites) >= 0 ? 0 : 1;
  } catch (...) {
    return 2;
  }
}


TEST(SqliteTransaction, TwoProcessesCommittingOnHashLengthLoseNoUpdate) {
  testing::TempDir dir;
  auto file = dir / "cart.db";
  {
    // Create the file and schema before the children race to.
    core::ManualClock clock;
    StoreOptions options;
    options.clock = &clock;
    open_store("sqlite://" + file.string(), options);
  }
  std::vector<pid_t> children;
  for (char const* name : {"a", "b"}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) _exit(cart_writer(file, name));
    children.push_back(pid);
  }
  for (pid_t pid : children) EXPECT_EQ(testing::wait_forked_child(pid, 120s), 0) << "child " << pid;

  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto provider = open_store("sqlite://" + file.string(), options);
  auto store = provider->store_for(io.get_executor());
  auto cart = run_coro(io, store->hgetall("{t}cart"));
  ASSERT_TRUE(cart.has_value()) << cart.error().describe();
  expect_cart(*cart, {"a-", "b-"}, kCartWrites);
}

}  // namespace
}  // namespace outboard::state
