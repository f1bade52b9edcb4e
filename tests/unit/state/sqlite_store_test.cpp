// What only the sqlite backend promises, beyond the shared conformance suite: several processes
// writing one file lose nothing, a bad path fails at start-up with the path in the message, and
// the data outlives the provider.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "state/store.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"
#include "support/forked_child.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

constexpr int kIncrements = 500;
constexpr int kPushes = 200;

std::string url_of(std::filesystem::path const& file) { return "sqlite://" + file.string(); }

// Runs in a forked child: its own provider, opened after the fork (a sqlite connection must
// never cross a fork). Every write is issued at once so both pool threads and both processes
// contend for the write lock. Returns the exit code: 0 when every call succeeded.
int hammer(std::filesystem::path const& file, char const* name) {
  try {
    core::ManualClock clock;
    StoreOptions options;
    options.clock = &clock;
    // Declared before the provider, so destroyed after it: a pool thread finishing a call may
    // still hold io's executor until the provider has joined its pool.
    boost::asio::io_context io;
    auto provider = open_store(url_of(file), options);
    auto store = provider->store_for(io.get_executor());
    std::vector<std::future<Result<std::int64_t>>> counts;
    std::vector<std::future<Result<void>>> fields;
    for (int i = 0; i < kIncrements; ++i) {
      counts.push_back(boost::asio::co_spawn(io, store->incr_by("counter", 1), boost::asio::use_future));
      if (i >= kPushes) continue;
      std::string item = std::string(name) + "-" + std::to_string(i);
      counts.push_back(boost::asio::co_spawn(io, store->list_push("list", item), boost::asio::use_future));
      fields.push_back(boost::asio::co_spawn(io, store->hset("hash", {{item, std::to_string(i)}}),
                                             boost::asio::use_future));
    }
    bool ok = true;
    for (auto& f : counts) {
      testing::run_until_ready(io, f);
      ok = f.get().has_value() && ok;
    }
    for (auto& f : fields) {
      testing::run_until_ready(io, f);
      ok = f.get().has_value() && ok;
    }
    return ok ? 0 : 1;
  } catch (...) {
    return 2;
  }
}


TEST(SqliteStore, TwoProcessesWritingOneFileLoseNothing) {
  testing::TempDir dir;
  auto file = dir / "shared.db";
  std::vector<pid_t> children;
  for (char const* name : {"a", "b"}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) _exit(hammer(file, name));
    children.push_back(pid);
  }
  for (pid_t pid : children) EXPECT_EQ(testing::wait_forked_child(pid, 120s), 0) << "child " << pid;

  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto provider = open_store(url_of(file), options);
  auto store = provider->store_for(io.get_executor());

  auto counter = run_coro(io, store->get("counter"));
  ASSERT_TRUE(counter.has_value()) << counter.error().describe();
  EXPECT_EQ(*counter, std::to_string(2 * kIncrements));

  auto list = run_coro(io, store->list_range("list"));
  ASSERT_TRUE(list.has_value()) << list.error().describe();
  EXPECT_EQ(list->size(), 2u * kPushes);
  std::set<std::string> distinct(list->begin(), list->end());
  EXPECT_EQ(distinct.size(), 2u * kPushes);

  auto hash = run_coro(io, store->hgetall("hash"));
  ASSERT_TRUE(hash.has_value()) << hash.error().describe();
  EXPECT_EQ(hash->size(), 2u * kPushes);
  for (char const* name : {"a", "b"}) {
    for (int i = 0; i < kPushes; ++i) {
      std::string field = std::string(name) + "-" + std::to_string(i);
      auto it = hash->find(field);
      ASSERT_NE(it, hash->end()) << field;
      EXPECT_EQ(it->second, std::to_string(i));
    }
  }
}

TEST(SqliteStore, MissingDirectoryThrowsNamingThePath) {
  testing::TempDir dir;
  std::string path = (dir / "no-such-dir" / "state.db").string();
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  try {
    open_store("sqlite://" + path, options);
    FAIL() << "opening " << path << " should have thrown";
  } catch (std::runtime_error const& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SqliteStore, NotADatabaseThrowsNamingThePath) {
  testing::TempDir dir;
  auto path = dir / "garbage.db";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  try {
    open_store(url_of(path), options);
    FAIL() << "opening " << path << " should have thrown";
  } catch (std::runtime_error const& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(SqliteStore, DataOutlivesTheProvider) {
  testing::TempDir dir;
  auto file = dir / "persist.db";
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  std::string binary("k\0ey\xff", 5);
  {
    boost::asio::io_context io;
    auto provider = open_store(url_of(file), options);
    auto store = provider->store_for(io.get_executor());
    ASSERT_TRUE(run_coro(io, store->set("plain", "v")).has_value());
    ASSERT_TRUE(run_coro(io, store->set(binary, "bin")).has_value());
    ASSERT_TRUE(run_coro(io, store->set("ttl", "v", 60000ms)).has_value());
    ASSERT_TRUE(run_coro(io, store->hset("h", {{"f", "1"}, {"g", "2"}})).has_value());
    ASSERT_TRUE(run_coro(io, store->list_push("l", "x")).has_value());
    ASSERT_TRUE(run_coro(io, store->list_push("l", "y")).has_value());
  }
  clock.advance(10000ms);
  boost::asio::io_context io;
  auto provider = open_store(url_of(file), options);
  auto store = provider->store_for(io.get_executor());
  EXPECT_EQ(*run_coro(io, store->get("plain")), "v");
  // Keys are blobs: a NUL inside a key is part of it, and "k" is a different key.
  EXPECT_EQ(*run_coro(io, store->get(binary)), "bin");
  EXPECT_EQ(*run_coro(io, store->get("k")), std::nullopt);
  EXPECT_EQ(*run_coro(io, store->pttl("ttl")), 50000);
  EXPECT_EQ(*run_coro(io, store->hgetall("h")), (FieldMap{{"f", "1"}, {"g", "2"}}));
  EXPECT_EQ(*run_coro(io, store->list_range("l")), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(*run_coro(io, store->list_push("l", "z")), 3);
  // The TTL was stored as a deadline on the clock, so it still expires after a restart.
  clock.advance(50000ms);
  EXPECT_EQ(*run_coro(io, store->get("ttl")), std::nullopt);
}

TEST(SqliteStore, TwoProvidersOnOneFileSeeEachOther) {
  // Within one process too, two providers are two sets of connections: the same as two processes
  // for sqlite's locking, without the fork.
  testing::TempDir dir;
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto first = open_store(url_of(dir / "s.db"), options);
  auto second = open_store(url_of(dir / "s.db"), options);
  auto a = first->store_for(io.get_executor());
  auto b = second->store_for(io.get_executor());
  EXPECT_TRUE(*run_coro(io, a->set_if_absent("lock", "a", 5000ms)));
  EXPECT_FALSE(*run_coro(io, b->set_if_absent("lock", "b", 5000ms)));
  EXPECT_FALSE(*run_coro(io, b->compare_and_set("lock", std::string("b"), "c")));
  EXPECT_TRUE(*run_coro(io, b->compare_and_set("lock", std::string("a"), "b", 5000ms)));
  EXPECT_EQ(*run_coro(io, a->get("lock")), "b");
  clock.advance(5001ms);
  EXPECT_TRUE(*run_coro(io, b->set_if_absent("lock", "again")));
  EXPECT_EQ(*run_coro(io, a->pttl("lock")), kNoExpiry);
}

TEST(SqliteStore, SetReplacesAKeyOfAnotherType) {
  // SET, as in Redis, overwrites whatever the key held; the old fields must not come back.
  testing::TempDir dir;
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto provider = open_store(url_of(dir / "s.db"), options);
  auto store = provider->store_for(io.get_executor());
  ASSERT_TRUE(run_coro(io, store->hset("k", {{"f", "1"}})).has_value());
  ASSERT_TRUE(run_coro(io, store->set("k", "s")).has_value());
  EXPECT_TRUE(*run_coro(io, store->del("k")));
  ASSERT_TRUE(run_coro(io, store->hset("k", {{"g", "2"}})).has_value());
  EXPECT_EQ(*run_coro(io, store->hgetall("k")), (FieldMap{{"g", "2"}}));
}

TEST(SqliteStore, ExpiredHashIsGoneForWritersToo) {
  // hset on an expired hash starts a new one: the old fields and TTL do not leak into it.
  testing::TempDir dir;
  core::ManualClock clock;
  StoreOptions options;
  options.clock = &clock;
  boost::asio::io_context io;
  auto provider = open_store(url_of(dir / "s.db"), options);
  auto store = provider->store_for(io.get_executor());
  ASSERT_TRUE(run_coro(io, store->hset("h", {{"old", "1"}}, 1000ms)).has_value());
  clock.advance(1001ms);
  ASSERT_TRUE(run_coro(io, store->hset("h", {{"new", "2"}})).has_value());
  EXPECT_EQ(*run_coro(io, store->hgetall("h")), (FieldMap{{"new", "2"}}));
  EXPECT_EQ(*run_coro(io, store->pttl("h")), kNoExpiry);
  ASSERT_TRUE(run_coro(io, store->list_push("l", "a")).has_value());
  ASSERT_TRUE(run_coro(io, store->expire("l", 1000ms)).has_value());
  clock.advance(1001ms);
  EXPECT_EQ(*run_coro(io, store->list_push("l", "b")), 1);
  EXPECT_EQ(*run_coro(io, store->list_range("l")), (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace outboard::state
