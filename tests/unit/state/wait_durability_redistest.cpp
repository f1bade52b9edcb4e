// WAIT-based durability of the chosen writes (commit_if, compare_and_set; docs/STATE.md, "WAIT")
// on real engines: a private redis-server without replicas (every such write is unavailable after
// the timeout, yet done on the master), and the process's shared 6-node Redis Cluster (a write
// confirmed by a replica can be read there). The cluster cases' param is named "redis_cluster"
// so that ctest's shared-engine group ("*/redis_cluster") runs them in its one process.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "state/redis/redis_connection.hpp"
#include "state/redis/redis_router.hpp"
#include "state/redis/resp.hpp"
#include "state/redis_cluster/key_slot.hpp"
#include "state/store.hpp"
#include "support/param_name.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/store_engines.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

// One command on a connection of its own to 127.0.0.1:port (another client), after `preface`
// on the same connection when given (READONLY on a replica).
Result<Reply> ask_node(std::uint16_t port, std::vector<std::string_view> const& args,
                  std::optional<std::vector<std::string_view>> preface = std::nullopt) {
  boost::asio::io_context io;
  auto conn = RedisConnection::create(io.get_executor(), RedisEndpoint{"127.0.0.1", port, "", 0, 2000ms});
  if (preface) {
    auto first = run_coro(io, conn->execute(encode_command(*preface)));
    EXPECT_TRUE(first && !first->is_error()) << (first ? first->str : first.error().describe());
  }
  auto reply = run_coro(io, conn->execute(encode_command(args)));
  conn->close();
  return reply;
}

// How many WAITs the server at `port` has run (INFO commandstats), whoever sent them.
std::int64_t waits_run(std::uint16_t port) {
  auto info = ask_node(port, {"INFO", "commandstats"});
  EXPECT_TRUE(info.has_value());
  if (!info) return -1;
  std::string const field = "cmdstat_wait:calls=";
  auto at = info->str.find(field);
  return at == std::string::npos ? 0 : std::stoll(info->str.substr(at + field.size()));
}

std::optional<std::string> value_at(std::uint16_t port, std::string_view key,
                                    std::optional<std::vector<std::string_view>> preface = std::nullopt) {
  auto reply = ask_node(port, {"GET", key}, std::move(preface));
  EXPECT_TRUE(reply.has_value());
  if (!reply || reply->type != Reply::Type::string) return std::nullopt;
  return reply->str;
}

// One worker thread's store with the given WAIT settings, on an event loop of the test's.
class WaitingStore {
 public:
  WaitingStore(std::string const& url, int replicas, Millis wait_timeout) {
    StoreOptions options;
    options.command_timeout = 2000ms;
    options.wait_replicas = replicas;
    options.wait_timeout = wait_timeout;
    provider_ = open_store(url, options);
    store_ = provider_->store_for(io_.get_executor());
  }
  ~WaitingStore() {
    store_.reset();
    io_.restart();
    io_.run_for(20ms);  // lets the store close its connections on its own loop
  }
  template <class T>
  Result<T> run(boost::asio::awaitable<Result<T>> op) {
    return run_coro(io_, std::move(op));
  }
  Store* operator->() { return store_.get(); }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<StoreProvider> provider_;
  std::shared_ptr<Store> store_;
};

std::vector<Write> set_one(std::string key, std::string value) {
  std::vector<Write> writes;
  writes.push_back(Write::set(std::move(key), std::move(value)));
  return writes;
}

std::vector<Condition> absent_key(std::string key) {
  std::vector<Condition> conditions;
  conditions.push_back(Condition::absent(std::move(key)));
  return conditions;
}

// --- single redis, no replica: one server for the suite, each test on keys of its own ---

class WaitDurabilityRedis : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = new testing::RedisServer(); }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  static std::uint16_t port() { return redis_->port(); }
  static std::string url() { return redis_->url(); }

 private:
  static testing::RedisServer* redis_;
};
testing::RedisServer* WaitDurabilityRedis::redis_ = nullptr;

TEST_F(WaitDurabilityRedis, WithoutAReplicaACommitIsUnavailableYetDoneOnTheMaster) {
  WaitingStore store(url(), 1, 20ms);
  auto committed = store.run(store->commit_if(absent_key("order:1"), set_one("order:1", "paid")));
  ASSERT_FALSE(committed.has_value()) << "no replica can have confirmed it";
  EXPECT_EQ(committed.error().code, Errc::unavailable);
  EXPECT_NE(committed.error().context.find("committed on the master but confirmed by 0 of 1 replicas within 20 ms"),
            std::string::npos)
      << committed.error().context;
  EXPECT_EQ(value_at(port(), "order:1"), "paid") << "the write itself is done (WAIT never undoes it)";

  // A client's retry meets the record: the condition fails, nothing is written, no WAIT.
  std::int64_t waits = waits_run(port());
  auto again = store.run(store->commit_if(absent_key("order:1"), set_one("order:1", "twice")));
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_FALSE(*again);
  EXPECT_EQ(waits_run(port()), waits);
  EXPECT_EQ(value_at(port(), "order:1"), "paid");
}

TEST_F(WaitDurabilityRedis, CompareAndSetIsAChosenWriteToo) {
  WaitingStore store(url(), 1, 20ms);
  std::int64_t waits = waits_run(port());
  auto swapped = store.run(store->compare_and_set("idem:1", std::nullopt, "done"));
  ASSERT_FALSE(swapped.has_value());
  EXPECT_EQ(swapped.error().code, Errc::unavailable);
  EXPECT_EQ(value_at(port(), "idem:1"), "done");
  EXPECT_EQ(waits_run(port()), waits + 1);
  // Plain writes are not waited for (sessions, counters).
  ASSERT_TRUE(store.run(store->set("session:1", "x")).has_value());
  ASSERT_TRUE(store.run(store->hset("session:2", {{"f", "v"}}, 60'000ms)).has_value());
  EXPECT_EQ(waits_run(port()), waits + 1);
}

TEST_F(WaitDurabilityRedis, OffSendsNoWait) {
  WaitingStore store(url(), 0, 20ms);
  std::int64_t waits = waits_run(port());
  auto committed = store.run(store->commit_if(absent_key("order:2"), set_one("order:2", "paid")));
  ASSERT_TRUE(committed.has_value()) << committed.error().describe();
  EXPECT_TRUE(*committed);
  auto swapped = store.run(store->compare_and_set("idem:2", std::nullopt, "done"));
  ASSERT_TRUE(swapped.has_value()) << swapped.error().describe();
  EXPECT_TRUE(*swapped);
  EXPECT_EQ(waits_run(port()), waits);
}

// WAIT counts the writes of its own TCP connection: one that was replaced between the write and
// WAIT confirms nothing, whatever it answers.
TEST_F(WaitDurabilityRedis, AWaitOnAReplacedConnectionIsUnknown) {
  boost::asio::io_context io;
  auto conn = RedisConnection::create(io.get_executor(), RedisEndpoint{"127.0.0.1", port(), "", 0, 2000ms});
  std::uint64_t wrote_on = 0;
  auto wrote = run_coro(io, conn->execute(encode_command({"SET", "order:3", "paid"}), &wrote_on));
  ASSERT_TRUE(wrote && !wrote->is_error());
  auto killed = ask_node(port(), {"CLIENT", "KILL", "TYPE", "normal"});  // every client but the asker
  ASSERT_TRUE(killed && !killed->is_error());
  // Bounded: until the connection noticed and made a new TCP connection.
  std::uint64_t now_on = wrote_on;
  for (int i = 0; i < 200 && now_on == wrote_on; ++i) {
    std::uint64_t serial = 0;
    auto ping = run_coro(io, conn->execute(encode_command({"PING"}), &serial));
    if (ping) now_on = serial;
  }
  ASSERT_NE(now_on, wrote_on) << "the connection never reconnected";
  auto confirmed = run_coro(io, confirm_replicated(AnsweredOn{conn, wrote_on}, 1, 20ms));
  ASSERT_FALSE(confirmed.has_value());
  EXPECT_EQ(confirmed.error().code, Errc::unavailable);
  EXPECT_NE(confirmed.error().context.find("replication unknown"), std::string::npos) << confirmed.error().context;
  conn->close();
}

TEST(WaitDurabilityOptions, ATimeoutThatCannotWorkIsRefusedAtStart) {
  StoreOptions options;
  options.command_timeout = 1000ms;
  options.wait_replicas = 1;
  options.wait_timeout = 1000ms;  // the connection would time out first
  EXPECT_THROW(open_store("redis://127.0.0.1:1/0", options), std::invalid_argument);
  options.wait_timeout = 0ms;  // WAIT 0 blocks for ever
  EXPECT_THROW(open_store("redis://127.0.0.1:1/0", options), std::invalid_argument);
  options.wait_replicas = -1;
  options.wait_timeout = 100ms;
  EXPECT_THROW(open_store("redis://127.0.0.1:1/0", options), std::invalid_argument);
  options.wait_replicas = 0;
  options.wait_timeout = 0ms;  // off: the timeout is not used
  EXPECT_NO_THROW(open_store("redis://127.0.0.1:1/0", options));
}

// --- redis-cluster: 3 masters, each with one replica ---

// The port of the replica of the master at `master` (its INFO replication's slave0 line).
std::uint16_t replica_of(testing::RedisCluster& cluster, std::uint16_t master) {
  std::istringstream info(cluster.cli(master, {"INFO", "replication"}));
  for (std::string line; std::getline(info, line);) {
    if (!line.starts_with("slave0:")) continue;
    auto at = line.find("port=");
    if (at != std::string::npos) return static_cast<std::uint16_t>(std::stoi(line.substr(at + 5)));
  }
  ADD_FAILURE() << "the master at " << master << " has no replica";
  return 0;
}

class WaitDurabilityCluster : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = testing::fresh_redis_cluster_url();
    cluster_ = &testing::shared_redis_cluster();
    cluster_->wait_until_replicas_synced();
  }
  std::uint16_t master_of(std::string const& key) {
    return cluster_->owner_of(redis_cluster::key_slot(key), cluster_->any_live_port());
  }

  std::string url_;
  testing::RedisCluster* cluster_ = nullptr;
};

TEST_P(WaitDurabilityCluster, ACommitConfirmedByAReplicaIsReadOnTheReplica) {
  WaitingStore store(url_, 1, 1000ms);
  std::string const key = "{order:7}:record";
  std::uint16_t master = master_of(key);
  std::int64_t waits = waits_run(master);
  auto committed = store.run(store->commit_if(absent_key(key), set_one(key, "paid")));
  ASSERT_TRUE(committed.has_value()) << committed.error().describe();
  EXPECT_TRUE(*committed);
  EXPECT_EQ(waits_run(master), waits + 1) << "WAIT goes to the master that ran the write";
  // Confirmed means applied there: readable on the replica at once, no polling.
  std::uint16_t replica = replica_of(*cluster_, master);
  EXPECT_EQ(value_at(replica, key, std::vector<std::string_view>{"READONLY"}), "paid");
}

TEST_P(WaitDurabilityCluster, MoreReplicasThanAMasterHasIsUnavailableYetDone) {
  WaitingStore store(url_, 2, 20ms);
  std::string const key = "{order:8}:record";
  auto committed = store.run(store->commit_if(absent_key(key), set_one(key, "paid")));
  ASSERT_FALSE(committed.has_value());
  EXPECT_EQ(committed.error().code, Errc::unavailable);
  EXPECT_NE(committed.error().context.find("confirmed by 1 of 2 replicas within 20 ms"), std::string::npos)
      << committed.error().context;
  EXPECT_EQ(value_at(master_of(key), key), "paid");
}

INSTANTIATE_TEST_SUITE_P(Cluster, WaitDurabilityCluster, ::testing::Values("redis_cluster"), testing::ParamName{});

}  // namespace
}  // namespace outboard::state
