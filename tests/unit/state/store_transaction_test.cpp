// Store::commit_if on every backend (memory, sqlite, a real redis-server): conditions of each
// kind both ways, all-or-nothing writes, types, TTLs, and races that must have exactly one winner
// or lose no update. As in the conformance suite, memory and sqlite expire keys by a ManualClock
// the test advances; redis by its own clock, so there TTLs are checked with PTTL.
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
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

struct Backend {
  std::string name;
  bool manual_clock;  // false: the backend keeps time itself (redis)
};

void PrintTo(Backend const& backend, std::ostream* os) { *os << backend.name; }

class StoreTransaction : public ::testing::TestWithParam<Backend> {
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

  core::ManualClock clock_;
  StoreOptions options_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  boost::asio::io_context io_;
  std::unique_ptr<StoreProvider> provider_;
  std::shared_ptr<Store> store_;
};

// A few keys of every type, to check that a refused transaction leaves all of them alone.
void seed(Store& store, boost::asio::io_context& io) {
  ASSERT_TRUE(run_coro(io, store.set("s", "string")).has_value());
  ASSERT_TRUE(run_coro(io, store.hset("cart", {{"a", "1"}, {"b", "2"}})).has_value());
  ASSERT_TRUE(run_coro(io, store.list_push("l", "item")).has_value());
}

TEST_P(StoreTransaction, AllConditionsTrueAppliesEveryWrite) {
  seed(*store_, io_);
  EXPECT_TRUE(commit({Condition::absent("order"), Condition::field_absent("cart", "c"),
                      Condition::hash_len("cart", 2)},
                     {Write::set("order", "o-1"), Write::hset("cart", "c", "3"),
                      Write::hset("orders", "o-1", "placed"), Write::del("l"),
                      Write::set("s", "replaced")}));
  EXPECT_EQ(run(store_->get("order")), "o-1");
  EXPECT_EQ(run(store_->hgetall("cart")), (FieldMap{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(run(store_->hgetall("orders")), (FieldMap{{"o-1", "placed"}}));
  EXPECT_TRUE(run(store_->list_range("l")).empty());
  EXPECT_EQ(run(store_->pttl("l")), kNoKey);
  EXPECT_EQ(run(store_->get("s")), "replaced");
}

TEST_P(StoreTransaction, OneFalseConditionWritesNothing) {
  std::vector<std::vector<Condition>> refused = {
      {Condition::absent("s"), Condition::absent("order"), Condition::hash_len("cart", 2)},
      {Condition::absent("order"), Condition::field_absent("cart", "b"),
       Condition::hash_len("cart", 2)},
      {Condition::absent("order"), Condition::field_absent("cart", "c"),
       Condition::hash_len("cart", 3)},
      // The false one last: earlier true ones must not have let writes through.
      {Condition::absent("order"), Condition::hash_len("cart", 2), Condition::absent("l")},
  };
  seed(*store_, io_);
  for (std::size_t i = 0; i < refused.size(); ++i) {
    SCOPED_TRACE("refused transaction " + std::to_string(i));
    EXPECT_FALSE(commit(refused[i], {Write::set("order", "o-1"), Write::hset("cart", "c", "3"),
                                     Write::hset("new-hash", "f", "v"), Write::del("l"),
                                     Write::del("s"), Write::set("s", "other", 1000ms)}));
    EXPECT_EQ(run(store_->get("order")), std::nullopt);
    EXPECT_EQ(run(store_->pttl("order")), kNoKey);
    EXPECT_EQ(run(store_->hgetall("cart")), (FieldMap{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(run(store_->pttl("new-hash")), kNoKey);
    EXPECT_EQ(run(store_->list_range("l")), (std::vector<std::string>{"item"}));
    EXPECT_EQ(run(store_->get("s")), "string");
    EXPECT_EQ(run(store_->pttl("s")), kNoExpiry);
  }
}

TEST_P(StoreTransaction, KeyAbsentBothWaysForEveryType) {
  seed(*store_, io_);
  for (char const* present : {"s", "cart", "l"}) {
    SCOPED_TRACE(present);
    EXPECT_FALSE(commit({Condition::absent(present)}, {Write::set("marker", present)}));
  }
  EXPECT_EQ(run(store_->get("marker")), std::nullopt);
  EXPECT_TRUE(commit({Condition::absent("missing")}, {Write::set("marker", "yes")}));
  EXPECT_EQ(run(store_->get("marker")), "yes");
}

TEST_P(StoreTransaction, ExpiredKeyCountsAsAbsent) {
  run(store_->set("lock", "held", 3000ms));
  EXPECT_FALSE(commit({Condition::absent("lock")}, {Write::set("lock", "mine")}));
  EXPECT_EQ(run(store_->get("lock")), "held");
  let_expire("lock", 3000ms);
  EXPECT_TRUE(commit({Condition::absent("lock")}, {Write::set("lock", "mine")}));
  EXPECT_EQ(run(store_->get("lock")), "mine");
  EXPECT_EQ(run(store_->pttl("lock")), kNoExpiry);
}

TEST_P(StoreTransaction, HashFieldAbsentBothWays) {
  run(store_->hset("h", {{"taken", "1"}}));
  EXPECT_FALSE(commit({Condition::field_absent("h", "taken")}, {Write::hset("h", "taken", "2")}));
  EXPECT_EQ(run(store_->hget("h", "taken")), "1");
  EXPECT_TRUE(commit({Condition::field_absent("h", "free")}, {Write::hset("h", "free", "2")}));
  EXPECT_EQ(run(store_->hget("h", "free")), "2");
  // A missing hash has no fields at all.
  EXPECT_TRUE(commit({Condition::field_absent("nohash", "f")}, {Write::hset("nohash", "f", "v")}));
  EXPECT_EQ(run(store_->hgetall("nohash")), (FieldMap{{"f", "v"}}));
}

TEST_P(StoreTransaction, HashFieldOfExpiredHashIsAbsent) {
  run(store_->hset("h", {{"f", "old"}}, 2000ms));
  EXPECT_FALSE(commit({Condition::field_absent("h", "f")}, {Write::hset("h", "f", "new")}));
  let_expire("h", 2000ms);
  EXPECT_TRUE(commit({Condition::field_absent("h", "f")}, {Write::hset("h", "f", "new")}));
  EXPECT_EQ(run(store_->hgetall("h")), (FieldMap{{"f", "new"}}));
  // The new hash is a new key: the old TTL did not come back with it.
  EXPECT_EQ(run(store_->pttl("h")), kNoExpiry);
}

TEST_P(StoreTransaction, HashLenEqualsBothWays) {
  // A missing hash has length 0.
  EXPECT_FALSE(commit({Condition::hash_len("cart", 1)}, {Write::set("x", "1")}));
  EXPECT_TRUE(commit({Condition::hash_len("cart", 0)}, {Write::hset("cart", "a", "1")}));
  EXPECT_FALSE(commit({Condition::hash_len("cart", 0)}, {Write::hset("cart", "b", "2")}));
  EXPECT_FALSE(commit({Condition::hash_len("cart", 2)}, {Write::hset("cart", "b", "2")}));
  EXPECT_TRUE(commit({Condition::hash_len("cart", 1)}, {Write::hset("cart", "b", "2")}));
  EXPECT_EQ(run(store_->hgetall("cart")), (FieldMap{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  // An emptied hash is gone, so its length is 0 again.
  run(store_->hdel("cart", {"a", "b"}));
  EXPECT_TRUE(commit({Condition::hash_len("cart", 0)}, {Write::set("x", "1")}));
}

TEST_P(StoreTransaction, HashLenOfExpiredHashIsZero) {
  run(store_->hset("cart", {{"a", "1"}, {"b", "2"}}, 4000ms));
  EXPECT_FALSE(commit({Condition::hash_len("cart", 0)}, {Write::set("x", "1")}));
  EXPECT_TRUE(commit({Condition::hash_len("cart", 2)}, {}));
  let_expire("cart", 4000ms);
  EXPECT_FALSE(commit({Condition::hash_len("cart", 2)}, {Write::set("x", "1")}));
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  EXPECT_TRUE(commit({Condition::hash_len("cart", 0)}, {Write::set("x", "1")}));
  EXPECT_EQ(run(store_->get("x")), "1");
}

TEST_P(StoreTransaction, ValueEqualsBothWays) {
  // A missing key equals nothing, not even the empty string.
  EXPECT_FALSE(commit({Condition::equals("fence", "")}, {Write::set("x", "1")}));
  run(store_->set("fence", "1"));
  EXPECT_FALSE(commit({Condition::equals("fence", "2")}, {Write::set("x", "2")}));
  EXPECT_FALSE(commit({Condition::equals("fence", "1 ")}, {Write::set("x", "3")}));
  EXPECT_FALSE(commit({Condition::equals("fence", "")}, {Write::set("x", "4")}));
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  EXPECT_TRUE(commit({Condition::equals("fence", "1")}, {Write::set("x", "5")}));
  EXPECT_EQ(run(store_->get("x")), "5");
  // A newer fence refuses the old one: what keeps a worker that lost its lease from committing.
  run(store_->set("fence", "2"));
  EXPECT_FALSE(commit({Condition::equals("fence", "1")}, {Write::set("x", "6")}));
  EXPECT_TRUE(commit({Condition::equals("fence", "2")}, {Write::set("x", "7")}));
  EXPECT_EQ(run(store_->get("x")), "7");
  // The empty string is a value like any other.
  run(store_->set("empty", ""));
  EXPECT_TRUE(commit({Condition::equals("empty", "")}, {}));
}

TEST_P(StoreTransaction, ValueEqualsOnAnotherTypeIsFalseNotInvalid) {
  seed(*store_, io_);
  // A hash or a list is not the value: the condition fails, the call does not.
  EXPECT_FALSE(commit({Condition::equals("cart", "1")}, {Write::set("x", "1")}));
  EXPECT_FALSE(commit({Condition::equals("l", "item")}, {Write::set("x", "2")}));
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  // A true one beside them does not rescue the transaction.
  EXPECT_FALSE(commit({Condition::equals("s", "string"), Condition::equals("cart", "")},
                      {Write::set("x", "3")}));
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  // A type error elsewhere still wins over the false answer.
  expect_invalid({Condition::equals("cart", "1")}, {Write::hset("s", "f", "v")});
  EXPECT_TRUE(commit({Condition::equals("s", "string")}, {Write::set("x", "4")}));
  EXPECT_EQ(run(store_->get("x")), "4");
}

TEST_P(StoreTransaction, ValueEqualsOfExpiredKeyIsFalse) {
  run(store_->set("fence", "3", 2000ms));
  EXPECT_TRUE(commit({Condition::equals("fence", "3")}, {}));
  let_expire("fence", 2000ms);
  EXPECT_FALSE(commit({Condition::equals("fence", "3")}, {Write::set("x", "1")}));
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
}

TEST_P(StoreTransaction, ValueEqualsJudgesTheValueBeforeTheWrites) {
  run(store_->set("fence", "1"));
  // Conditions see the keys as they were: a write of the same transaction does not count.
  EXPECT_FALSE(commit({Condition::equals("fence", "2")}, {Write::set("fence", "2")}));
  EXPECT_EQ(run(store_->get("fence")), "1");
  EXPECT_TRUE(commit({Condition::equals("fence", "1")}, {Write::set("fence", "2")}));
  EXPECT_EQ(run(store_->get("fence")), "2");
}

TEST_P(StoreTransaction, PushAppendsInOrderAndCreatesTheList) {
  EXPECT_TRUE(commit({}, {Write::push("outbox", "a")}));
  EXPECT_EQ(run(store_->list_range("outbox")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(run(store_->pttl("outbox")), kNoExpiry);
  EXPECT_TRUE(commit({}, {Write::push("outbox", "b"), Write::push("outbox", "c"), Write::push("other", "x")}));
  EXPECT_EQ(run(store_->list_range("outbox")), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(run(store_->list_range("other")), (std::vector<std::string>{"x"}));
  // A list written by list_push and by a transaction is one list.
  run(store_->list_push("outbox", "d"));
  EXPECT_TRUE(commit({}, {Write::push("outbox", "e")}));
  EXPECT_EQ(run(store_->list_range("outbox")), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(run(store_->list_push("outbox", "f")), 6);
  // A deleted list starts again; writes apply in order.
  EXPECT_TRUE(commit({}, {Write::del("outbox"), Write::push("outbox", "new")}));
  EXPECT_EQ(run(store_->list_range("outbox")), (std::vector<std::string>{"new"}));
  EXPECT_TRUE(commit({}, {Write::push("gone", "1"), Write::del("gone")}));
  EXPECT_EQ(run(store_->pttl("gone")), kNoKey);
}

TEST_P(StoreTransaction, FencedPushHappensOnceForTheLatestFence) {
  // The receipt job's commit: push to the outbox only while the claim's fence is the latest.
  run(store_->set("job:{receipt:o-1}:fence", "1"));
  auto receipt = [&](char const* fence) {
    return commit({Condition::equals("job:{receipt:o-1}:fence", fence), Condition::field_absent("receipts", "o-1")},
                  {Write::hset("receipts", "o-1", fence), Write::push("outbox", std::string("o-1 by ") + fence)});
  };
  run(store_->set("job:{receipt:o-1}:fence", "2"));  // claimed again: fence 1 is stale
  EXPECT_FALSE(receipt("1"));
  EXPECT_TRUE(receipt("2"));
  EXPECT_FALSE(receipt("2"));  // already recorded
  EXPECT_EQ(run(store_->list_range("outbox")), (std::vector<std::string>{"o-1 by 2"}));
  EXPECT_EQ(run(store_->hgetall("receipts")), (FieldMap{{"o-1", "2"}}));
}

TEST_P(StoreTransaction, PushOnAnotherTypeIsInvalidAndWritesNothing) {
  seed(*store_, io_);
  expect_invalid({}, {Write::set("x", "1"), Write::push("s", "v")});
  expect_invalid({}, {Write::push("l", "more"), Write::push("cart", "v")});
  // Also when a condition is false: a type error is never hidden by a false answer.
  expect_invalid({Condition::absent("s")}, {Write::push("cart", "v")});
  // Types follow the writes in order.
  expect_invalid({}, {Write::set("fresh", "1"), Write::push("fresh", "v")});
  expect_invalid({}, {Write::push("fresh", "v"), Write::hset("fresh", "f", "v")});
  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  EXPECT_EQ(run(store_->pttl("fresh")), kNoKey);
  EXPECT_EQ(run(store_->list_range("l")), (std::vector<std::string>{"item"}));
  EXPECT_EQ(run(store_->get("s")), "string");
  // A string deleted earlier in the writes may become a list.
  EXPECT_TRUE(commit({}, {Write::del("s"), Write::push("s", "v")}));
  EXPECT_EQ(run(store_->list_range("s")), (std::vector<std::string>{"v"}));
  // A false condition writes nothing, pushes included.
  EXPECT_FALSE(commit({Condition::absent("l")}, {Write::push("l", "no"), Write::push("new-list", "no")}));
  EXPECT_EQ(run(store_->list_range("l")), (std::vector<std::string>{"item"}));
  EXPECT_EQ(run(store_->pttl("new-list")), kNoKey);
}

TEST_P(StoreTransaction, PushWriteTtl) {
  EXPECT_TRUE(commit({}, {Write::push("l", "a", 7000ms)}));
  std::int64_t left = run(store_->pttl("l"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  // Without a ttl, push leaves the key's TTL as it was.
  EXPECT_TRUE(commit({}, {Write::push("l", "b")}));
  left = run(store_->pttl("l"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  EXPECT_EQ(run(store_->list_range("l")), (std::vector<std::string>{"a", "b"}));
  // With a ttl, push sets a TTL on a list that had none.
  run(store_->list_push("forever", "a"));
  EXPECT_TRUE(commit({}, {Write::push("forever", "b", 60000ms)}));
  left = run(store_->pttl("forever"));
  EXPECT_GT(left, 50000);
  EXPECT_LE(left, 60000);
  EXPECT_EQ(run(store_->list_range("forever")), (std::vector<std::string>{"a", "b"}));
  let_expire("l", 7000ms);
  EXPECT_TRUE(run(store_->list_range("l")).empty());
  // A TTL <= 0 expires on arrival, as for the other writes.
  EXPECT_TRUE(commit({}, {Write::push("now", "x", 0ms)}));
  EXPECT_EQ(run(store_->pttl("now")), kNoKey);
}

TEST_P(StoreTransaction, WrongTypeIsInvalidAndWritesNothing) {
  seed(*store_, io_);
  auto writes = [] {
    return std::vector<Write>{Write::set("x", "1"), Write::hset("new-hash", "f", "v"),
                              Write::del("cart"), Write::set("l", "replaced")};
  };
  // Conditions on a key of another type...
  expect_invalid({Condition::hash_len("s", 0)}, writes());
  expect_invalid({Condition::field_absent("l", "f")}, writes());
  // ... also when another condition is false: a type error is never hidden by a false answer.
  expect_invalid({Condition::absent("s"), Condition::hash_len("s", 0)}, writes());
  expect_invalid({Condition::hash_len("cart", 7), Condition::field_absent("s", "f")}, writes());
  // A write on a key of another type, after writes that must then not have happened.
  auto with_bad_hset = writes();
  with_bad_hset.push_back(Write::hset("s", "f", "v"));
  expect_invalid({Condition::absent("order")}, with_bad_hset);
  // Types follow the writes in order: a key just set is a string, even if it was absent.
  expect_invalid({}, {Write::set("fresh", "1"), Write::hset("fresh", "f", "v")});
  expect_invalid({}, {Write::hset("l", "f", "v")});

  EXPECT_EQ(run(store_->get("x")), std::nullopt);
  EXPECT_EQ(run(store_->get("fresh")), std::nullopt);
  EXPECT_EQ(run(store_->pttl("new-hash")), kNoKey);
  EXPECT_EQ(run(store_->hgetall("cart")), (FieldMap{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(run(store_->list_range("l")), (std::vector<std::string>{"item"}));
  EXPECT_EQ(run(store_->get("s")), "string");

  // key_absent works on any type, and a key deleted earlier in the writes may become a hash.
  EXPECT_TRUE(commit({Condition::absent("order")}, {Write::del("s"), Write::hset("s", "f", "v")}));
  EXPECT_EQ(run(store_->hgetall("s")), (FieldMap{{"f", "v"}}));
}

TEST_P(StoreTransaction, SetWriteTtlIsAsInSet) {
  EXPECT_TRUE(commit({}, {Write::set("k", "v", 60000ms)}));
  std::int64_t left = run(store_->pttl("k"));
  EXPECT_GT(left, 50000);
  EXPECT_LE(left, 60000);
  // Without a ttl, set clears the TTL, as Store::set does.
  EXPECT_TRUE(commit({}, {Write::set("k", "v2")}));
  EXPECT_EQ(run(store_->pttl("k")), kNoExpiry);
  EXPECT_TRUE(commit({}, {Write::set("k", "v3", 5000ms)}));
  let_expire("k", 5000ms);
  EXPECT_EQ(run(store_->get("k")), std::nullopt);
  // set replaces a key of any type, TTL included.
  run(store_->hset("h", {{"f", "1"}}, 60000ms));
  EXPECT_TRUE(commit({}, {Write::set("h", "now a string")}));
  EXPECT_EQ(run(store_->get("h")), "now a string");
  EXPECT_EQ(run(store_->pttl("h")), kNoExpiry);
}

TEST_P(StoreTransaction, HsetWriteTtlIsAsInHset) {
  EXPECT_TRUE(commit({}, {Write::hset("h", "a", "1", 7000ms)}));
  std::int64_t left = run(store_->pttl("h"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  // Without a ttl, hset leaves the key's TTL as it was.
  EXPECT_TRUE(commit({}, {Write::hset("h", "b", "2")}));
  left = run(store_->pttl("h"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  EXPECT_EQ(run(store_->hgetall("h")), (FieldMap{{"a", "1"}, {"b", "2"}}));
  // With a ttl, hset sets a TTL on a hash that had none.
  run(store_->hset("forever", {{"a", "1"}}));
  EXPECT_TRUE(commit({}, {Write::hset("forever", "b", "2")}));
  EXPECT_EQ(run(store_->pttl("forever")), kNoExpiry);
  EXPECT_TRUE(commit({}, {Write::hset("forever", "c", "3", 9000ms)}));
  left = run(store_->pttl("forever"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 9000);
  let_expire("h", 7000ms);
  EXPECT_TRUE(run(store_->hgetall("h")).empty());
}

TEST_P(StoreTransaction, DelInsideATransaction) {
  seed(*store_, io_);
  EXPECT_TRUE(commit({Condition::absent("order")},
                     {Write::set("order", "o-1"), Write::del("cart"), Write::del("l"),
                      Write::del("s"), Write::del("never-existed")}));
  EXPECT_EQ(run(store_->get("order")), "o-1");
  for (char const* gone : {"cart", "l", "s", "never-existed"}) {
    EXPECT_EQ(run(store_->pttl(gone)), kNoKey) << gone;
  }
  EXPECT_TRUE(run(store_->hgetall("cart")).empty());
  // Writes apply in order: set then del leaves nothing, del then set leaves the value.
  EXPECT_TRUE(commit({}, {Write::set("a", "1"), Write::del("a"), Write::del("b"),
                          Write::set("b", "2")}));
  EXPECT_EQ(run(store_->get("a")), std::nullopt);
  EXPECT_EQ(run(store_->get("b")), "2");
  // A deleted hash starts again empty, with no TTL.
  run(store_->hset("h", {{"old", "1"}}, 60000ms));
  EXPECT_TRUE(commit({}, {Write::del("h"), Write::hset("h", "new", "2")}));
  EXPECT_EQ(run(store_->hgetall("h")), (FieldMap{{"new", "2"}}));
  EXPECT_EQ(run(store_->pttl("h")), kNoExpiry);
}

TEST_P(StoreTransaction, EmptyTransactions) {
  EXPECT_TRUE(commit({}, {}));
  EXPECT_TRUE(commit({Condition::absent("x"), Condition::hash_len("h", 0)}, {}));
  run(store_->set("x", "1"));
  EXPECT_FALSE(commit({Condition::absent("x")}, {}));
}

TEST_P(StoreTransaction, BinarySafeKeysFieldsAndValues) {
  // Bytes that look like the redis encoding's own syntax, NULs and CR/LF in every position.
  std::string key("k\0:1\r\n", 6);
  std::string field("f\0a1", 4);
  std::string value("v\0\xff\r\nn2:3", 9);
  EXPECT_TRUE(commit({Condition::absent(key), Condition::field_absent("h1", field),
                      Condition::hash_len("h1", 0)},
                     {Write::set(key, value), Write::hset("h1", field, value),
                      Write::hset("h1", "a1", "d1"), Write::set("s1", "h1")}));
  EXPECT_EQ(run(store_->get(key)), value);
  EXPECT_EQ(run(store_->hgetall("h1")), (FieldMap{{field, value}, {"a1", "d1"}}));
  EXPECT_EQ(run(store_->get("s1")), "h1");
  EXPECT_EQ(run(store_->get("k")), std::nullopt);
  EXPECT_FALSE(commit({Condition::field_absent("h1", field)}, {Write::del(key)}));
  EXPECT_TRUE(commit({Condition::hash_len("h1", 2)}, {Write::del(key)}));
  EXPECT_EQ(run(store_->get(key)), std::nullopt);
  // value_equals and push carry binary operands too; a prefix of the value is not the value.
  EXPECT_TRUE(commit({Condition::equals("s1", "h1")}, {Write::set(key, value), Write::push("l1", value)}));
  EXPECT_FALSE(commit({Condition::equals(key, value.substr(0, 1))}, {Write::push("l1", "no")}));
  EXPECT_TRUE(commit({Condition::equals(key, value)}, {Write::push("l1", field)}));
  EXPECT_EQ(run(store_->list_range("l1")), (std::vector<std::string>{value, field}));
}

TEST_P(StoreTransaction, ManyKeysInOneTransaction) {
  std::vector<Condition> conditions;
  std::vector<Write> writes;
  for (int i = 0; i < 100; ++i) {
    conditions.push_back(Condition::absent("k" + std::to_string(i)));
    writes.push_back(Write::set("k" + std::to_string(i), std::to_string(i)));
    writes.push_back(Write::hset("big", "f" + std::to_string(i), std::to_string(i)));
  }
  EXPECT_TRUE(commit(conditions, writes));
  EXPECT_EQ(run(store_->hgetall("big")).size(), 100u);
  EXPECT_EQ(run(store_->get("k99")), "99");
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
        store_->commit_if({Condition::absent("order")},
                          {Write::set("order", id), Write::hset("cart", "owner", id),
                           Write::hset("winners", id, "1")}),
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
  EXPECT_EQ(run(store_->get("order")), std::to_string(winner));
  EXPECT_EQ(run(store_->hgetall("cart")), (FieldMap{{"owner", std::to_string(winner)}}));
  EXPECT_EQ(run(store_->hgetall("winners")), (FieldMap{{std::to_string(winner), "1"}}));
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
      auto fields = run_coro(io, store.hgetall("cart"));
      if (!fields) return -1;
      auto n = static_cast<std::int64_t>(fields->size());
      auto done = run_coro(io, store.commit_if({Condition::hash_len("cart", n)},
                                               {Write::hset("cart", std::to_string(n),
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
  expect_cart(run(store_->hgetall("cart")), {"w0-", "w1-"}, kPerWriter);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTransaction,
                         ::testing::Values(Backend{"memory", true}, Backend{"sqlite", true},
                                           Backend{"redis", false}),
                         [](auto const& param_info) { return param_info.param.name; });

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

int wait_child(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
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
  for (pid_t pid : children) EXPECT_EQ(wait_child(pid, 120s), 0) << "child " << pid;

  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto provider = open_store("sqlite://" + file.string(), options);
  auto store = provider->store_for(io.get_executor());
  auto cart = run_coro(io, store->hgetall("cart"));
  ASSERT_TRUE(cart.has_value()) << cart.error().describe();
  expect_cart(*cart, {"a-", "b-"}, kCartWrites);
}

}  // namespace
}  // namespace outboard::state
