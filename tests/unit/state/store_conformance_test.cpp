// ONE conformance suite, run against every state backend: memory, sqlite and a real redis-server.
// TTLs are checked without sleeping: memory and sqlite run on a ManualClock the test advances;
// redis expires by its own clock, so there the suite checks PTTL instead of waiting.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "state/store.hpp"
#include "support/param_name.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/store_engines.hpp"
#include "support/temp_dir.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

struct Backend {
  std::string name;
  bool manual_clock;  // false: the backend keeps time itself (redis, postgres)
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    std::string const& name = GetParam().name;
    if (name == "memory") {
      provider_ = open_store("memory://", options_);
    } else if (name == "sqlite") {
      provider_ = open_store("sqlite://" + (dir_ / "state.db").string(), options_);
    } else if (name == "redis-cluster") {
      provider_ = open_store(testing::fresh_redis_cluster_url(), options_);
    } else if (name == "postgres") {
      provider_ = open_store(testing::fresh_postgres_url(), options_);
    } else {
      redis_ = std::make_unique<testing::RedisServer>();
      provider_ = open_store(redis_->url(3), options_);
    }
    store_ = provider_->store_for(io_.get_executor());
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

TEST_P(StoreConformance, PingAnswers) { run(store_->ping()); }

TEST_P(StoreConformance, GetOfMissingKeyIsEmpty) {
  EXPECT_EQ(run(store_->get("nothing")), std::nullopt);
}

TEST_P(StoreConformance, SetThenGetRoundTripsBinarySafeValues) {
  std::string value("a\0b\r\n\xff", 6);
  run(store_->set("k", value));
  EXPECT_EQ(run(store_->get("k")), value);
  run(store_->set("k", "second"));
  EXPECT_EQ(run(store_->get("k")), "second");
}

TEST_P(StoreConformance, SetIfAbsentWritesOnce) {
  EXPECT_TRUE(run(store_->set_if_absent("once", "first")));
  EXPECT_FALSE(run(store_->set_if_absent("once", "second")));
  EXPECT_EQ(run(store_->get("once")), "first");
}

TEST_P(StoreConformance, DelReportsWhetherKeyExisted) {
  run(store_->set("k", "v"));
  EXPECT_TRUE(run(store_->del("k")));
  EXPECT_FALSE(run(store_->del("k")));
  EXPECT_EQ(run(store_->get("k")), std::nullopt);
}

TEST_P(StoreConformance, DelRemovesEveryType) {
  run(store_->hset("h", {{"f", "v"}}));
  run(store_->list_push("l", "x"));
  EXPECT_TRUE(run(store_->del("h")));
  EXPECT_TRUE(run(store_->del("l")));
  EXPECT_TRUE(run(store_->hgetall("h")).empty());
  EXPECT_TRUE(run(store_->list_range("l")).empty());
}

TEST_P(StoreConformance, SetWithTtlExpires) {
  run(store_->set("t", "v", 5000ms));
  EXPECT_EQ(run(store_->get("t")), "v");
  let_expire("t", 5000ms);
  EXPECT_EQ(run(store_->get("t")), std::nullopt);
  EXPECT_EQ(run(store_->pttl("t")), kNoKey);
  // An expired key is absent for set_if_absent too.
  EXPECT_TRUE(run(store_->set_if_absent("t", "again")));
}

TEST_P(StoreConformance, PttlReportsNoKeyNoExpiryAndRemaining) {
  EXPECT_EQ(run(store_->pttl("none")), kNoKey);
  run(store_->set("forever", "v"));
  EXPECT_EQ(run(store_->pttl("forever")), kNoExpiry);
  run(store_->set("soon", "v", 60000ms));
  std::int64_t left = run(store_->pttl("soon"));
  EXPECT_GT(left, 50000);
  EXPECT_LE(left, 60000);
}

TEST_P(StoreConformance, PlainSetClearsAnEarlierTtl) {
  run(store_->set("k", "v", 60000ms));
  run(store_->set("k", "v2"));
  EXPECT_EQ(run(store_->pttl("k")), kNoExpiry);
}

TEST_P(StoreConformance, ExpireAppliesToExistingKeysOnly) {
  EXPECT_FALSE(run(store_->expire("none", 1000ms)));
  run(store_->hset("h", {{"a", "1"}}));
  EXPECT_TRUE(run(store_->expire("h", 3000ms)));
  let_expire("h", 3000ms);
  EXPECT_TRUE(run(store_->hgetall("h")).empty());
}

TEST_P(StoreConformance, CompareAndSetSwapsOnlyOnMatch) {
  EXPECT_TRUE(run(store_->compare_and_set("c", std::nullopt, "v1")));
  EXPECT_FALSE(run(store_->compare_and_set("c", std::nullopt, "other")));
  EXPECT_FALSE(run(store_->compare_and_set("c", std::string("wrong"), "other")));
  EXPECT_TRUE(run(store_->compare_and_set("c", std::string("v1"), "v2")));
  EXPECT_EQ(run(store_->get("c")), "v2");
  EXPECT_FALSE(run(store_->compare_and_set("absent", std::string("v1"), "v2")));
  EXPECT_EQ(run(store_->get("absent")), std::nullopt);
}

TEST_P(StoreConformance, CompareAndSetWithTtl) {
  EXPECT_TRUE(run(store_->compare_and_set("c", std::nullopt, "v1", 4000ms)));
  let_expire("c", 4000ms);
  EXPECT_EQ(run(store_->get("c")), std::nullopt);
}

TEST_P(StoreConformance, CountersStartAtZeroAndAdd) {
  EXPECT_EQ(run(store_->incr_by("n", 1)), 1);
  EXPECT_EQ(run(store_->incr_by("n", 41)), 42);
  EXPECT_EQ(run(store_->incr_by("n", -2)), 40);
  EXPECT_EQ(run(store_->get("n")), "40");
}

TEST_P(StoreConformance, CounterKeepsItsTtl) {
  run(store_->incr_by("n", 1));
  run(store_->expire("n", 2000ms));
  run(store_->incr_by("n", 1));
  EXPECT_GT(run(store_->pttl("n")), 0);
}

TEST_P(StoreConformance, CounterOnNonIntegerIsInvalid) {
  run(store_->set("s", "abc"));
  auto r = run_coro(io_, store_->incr_by("s", 1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid);
}

TEST_P(StoreConformance, HashFieldsAreWrittenIndependently) {
  run(store_->hset("h", {{"a", "1"}, {"b", "2"}}));
  run(store_->hset("h", {{"b", "20"}, {"c", "3"}}));
  EXPECT_EQ(run(store_->hget("h", "a")), "1");
  EXPECT_EQ(run(store_->hget("h", "b")), "20");
  EXPECT_EQ(run(store_->hget("h", "missing")), std::nullopt);
  FieldMap all = run(store_->hgetall("h"));
  EXPECT_EQ(all, (FieldMap{{"a", "1"}, {"b", "20"}, {"c", "3"}}));
}

TEST_P(StoreConformance, HashOfMissingKeyIsEmpty) {
  EXPECT_TRUE(run(store_->hgetall("none")).empty());
  EXPECT_EQ(run(store_->hget("none", "f")), std::nullopt);
  EXPECT_EQ(run(store_->hdel("none", {"f"})), 0);
}

TEST_P(StoreConformance, HdelCountsAndEmptyHashDisappears) {
  run(store_->hset("h", {{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(run(store_->hdel("h", {"a", "zz"})), 1);
  EXPECT_EQ(run(store_->hdel("h", {"b"})), 1);
  EXPECT_EQ(run(store_->pttl("h")), kNoKey);
}

TEST_P(StoreConformance, HsetWithTtlSetsTheKeyTtl) {
  run(store_->hset("h", {{"a", "1"}}, 7000ms));
  std::int64_t left = run(store_->pttl("h"));
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 7000);
  // A write without a TTL leaves the TTL as it was (rolling expiry is explicit).
  run(store_->hset("h", {{"b", "2"}}));
  EXPECT_GT(run(store_->pttl("h")), 0);
  let_expire("h", 7000ms);
  EXPECT_TRUE(run(store_->hgetall("h")).empty());
}

TEST_P(StoreConformance, ListsKeepOrder) {
  EXPECT_EQ(run(store_->list_push("l", "one")), 1);
  EXPECT_EQ(run(store_->list_push("l", "two")), 2);
  EXPECT_EQ(run(store_->list_push("l", "three")), 3);
  EXPECT_EQ(run(store_->list_range("l")), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(run(store_->list_range("none")).empty());
}

TEST_P(StoreConformance, WrongTypeIsInvalid) {
  run(store_->set("s", "v"));
  auto h = run_coro(io_, store_->hget("s", "f"));
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code, Errc::invalid);
  auto l = run_coro(io_, store_->list_push("s", "x"));
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().code, Errc::invalid);
  run(store_->hset("h", {{"f", "v"}}));
  auto g = run_coro(io_, store_->get("h"));
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code, Errc::invalid);
}

TEST_P(StoreConformance, ManyConcurrentCoroutinesShareOneStore) {
  // 200 increments in flight at once on one event loop: none may be lost (pipelining in redis,
  // the thread pool in sqlite, the lock in memory).
  std::vector<std::future<Result<std::int64_t>>> pending;
  for (int i = 0; i < 200; ++i) {
    pending.push_back(boost::asio::co_spawn(io_, store_->incr_by("many", 1), boost::asio::use_future));
  }
  for (auto& f : pending) {
    testing::run_until_ready(io_, f);
    EXPECT_TRUE(f.get().has_value());
  }
  EXPECT_EQ(run(store_->get("many")), "200");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance,
                         ::testing::Values(Backend{"memory", true}, Backend{"sqlite", true},
                                           Backend{"redis", false}, Backend{"redis-cluster", false},
                                           Backend{"postgres", false}),
                         testing::ParamName{});

}  // namespace
}  // namespace outboard::state
