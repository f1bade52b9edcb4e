// The postgres:// backend beyond the shared conformance suites: versioned migrations, a
// PostgreSQL restart as a 503 window that loses no acknowledged write, an unreachable URL named
// without its password, two servers (providers) agreeing, and a statement timeout.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "state/postgres/pg_migrations.hpp"
#include "state/store.hpp"
#include "support/free_port.hpp"
#include "support/postgres_server.hpp"
#include "support/run_coro.hpp"
#include "support/store_engines.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

class PostgresStoreTest : public ::testing::Test {
 protected:
  // The shared server's initdb and start-up are paid here, not by whichever test runs first.
  static void SetUpTestSuite() { testing::shared_postgres(); }

  std::string open_error(std::string const& url) {
    try {
      open_store(url, options_);
    } catch (std::exception const& e) {
      return e.what();
    }
    ADD_FAILURE() << "opening " << url << " succeeded";
    return {};
  }

  testing::PostgresServer& server_ = testing::shared_postgres();
  StoreOptions options_;
  boost::asio::io_context io_;
};

TEST_F(PostgresStoreTest, MigrationsAreAppliedOnceAndVersioned) {
  std::string url = server_.url(server_.create_database());
  auto first = run_migrations(url, 10s);
  EXPECT_EQ(first.applied, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(first.database_version, 4);
  std::string recorded = server_.psql("SELECT version || ':' || name FROM outboard_schema_migrations ORDER BY version",
                                      url.substr(url.rfind('/') + 1));
  EXPECT_EQ(recorded, "1:keyspace\n2:jobs\n3:feeds\n4:feed_append_locks_the_room");
  // Migration 4 replaced the append function by the one that locks the room's row first.
  std::string append = server_.psql("SELECT pg_get_functiondef('outboard_feed_append'::regproc)",
                                    url.substr(url.rfind('/') + 1));
  EXPECT_NE(append.find("WHERE f.room = r FOR UPDATE"), std::string::npos) << append;

  // A second open (another server starting) applies nothing and records nothing.
  auto provider = open_store(url, options_);
  auto second = run_migrations(url, 10s);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.database_version, 4);
  EXPECT_EQ(server_.psql("SELECT count(*) FROM outboard_schema_migrations", url.substr(url.rfind('/') + 1)), "4");
}

TEST_F(PostgresStoreTest, ADatabaseNewerThanTheBuildIsRefused) {
  std::string db = server_.create_database();
  std::string url = server_.url(db);
  run_migrations(url, 10s);
  server_.psql("INSERT INTO outboard_schema_migrations(version, name) VALUES (99, 'from the future')", db);
  std::string error = open_error(url);
  EXPECT_NE(error.find("schema version 99 is newer than this build"), std::string::npos) << error;
  EXPECT_NE(error.find(url), std::string::npos) << error;
}

TEST_F(PostgresStoreTest, AnUnreachableUrlIsNamedWithoutItsPassword) {
  std::string port = std::to_string(testing::free_port());
  std::string error = open_error("postgres://outboard:sup3rsecret@127.0.0.1:" + port + "/outboard");
  EXPECT_NE(error.find("postgres://outboard:***@127.0.0.1:" + port + "/outboard"), std::string::npos) << error;
  EXPECT_EQ(error.find("sup3rsecret"), std::string::npos) << error;
}

TEST_F(PostgresStoreTest, ARestartIsAnUnavailableWindowThatLosesNoAcknowledgedWrite) {
  auto provider = open_store(testing::fresh_postgres_url(), options_);
  auto store = provider->store_for(io_.get_executor());
  constexpr int kKeys = 20;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(run_coro(io_, store->set("k" + std::to_string(i), "v" + std::to_string(i))).has_value());
  }
  ASSERT_TRUE(run_coro(io_, store->hset("session", {{"user", "ada"}})).has_value());

  server_.stop();
  // While the database is down: errors that mean 503, never "absent" and never a value.
  for (int i = 0; i < 3; ++i) {
    auto got = run_coro(io_, store->get("k0"));
    ASSERT_FALSE(got.has_value()) << "a value while PostgreSQL is down";
    EXPECT_EQ(got.error().code, Errc::unavailable) << got.error().describe();
    auto session = run_coro(io_, store->hgetall("session"));
    ASSERT_FALSE(session.has_value()) << "a session while PostgreSQL is down";
    EXPECT_EQ(session.error().code, Errc::unavailable) << session.error().describe();
  }

  server_.start();
  // The same store reconnects by itself (after its short backoff).
  Result<std::optional<std::string>> got = core::make_error(Errc::unavailable, "not asked yet");
  for (int i = 0; i < 300 && !got.has_value(); ++i) {
    got = run_coro(io_, store->get("k0"));
    if (!got.has_value()) {
      EXPECT_TRUE(got.error().transient()) << got.error().describe();
      std::this_thread::sleep_for(10ms);
    }
  }
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  for (int i = 0; i < kKeys; ++i) {
    auto value = run_coro(io_, store->get("k" + std::to_string(i)));
    ASSERT_TRUE(value.has_value()) << value.error().describe();
    EXPECT_EQ(*value, "v" + std::to_string(i));
  }
  auto session = run_coro(io_, store->hgetall("session"));
  ASSERT_TRUE(session.has_value()) << session.error().describe();
  EXPECT_EQ(*session, (FieldMap{{"user", "ada"}}));
}

TEST_F(PostgresStoreTest, TwoServersSeeEachOthersWritesAndCommitIfIsAtomicBetweenThem) {
  std::string url = testing::fresh_postgres_url();
  auto first = open_store(url, options_);
  auto second = open_store(url, options_);
  auto a = first->store_for(io_.get_executor());
  auto b = second->store_for(io_.get_executor());

  ASSERT_TRUE(run_coro(io_, a->set("greeting", "hello")).has_value());
  auto seen = run_coro(io_, b->get("greeting"));
  ASSERT_TRUE(seen.has_value()) << seen.error().describe();
  EXPECT_EQ(*seen, "hello");

  // Each round, both servers race to create the same order; exactly one may win.
  for (int round = 0; round < 10; ++round) {
    std::string order = "order-" + std::to_string(round);
    std::vector<std::future<Result<bool>>> racing;
    for (int i = 0; i < 4; ++i) {
      Store& store = i % 2 == 0 ? *a : *b;
      racing.push_back(boost::asio::co_spawn(
          io_, store.commit_if({Condition::absent(order)}, {Write::set(order, std::to_string(i)), Write::push("log", order)}),
          boost::asio::use_future));
    }
    int winners = 0;
    for (auto& f : racing) {
      testing::run_until_ready(io_, f);
      auto won = f.get();
      ASSERT_TRUE(won.has_value()) << won.error().describe();
      winners += *won ? 1 : 0;
    }
    EXPECT_EQ(winners, 1) << order;
  }
  auto log = run_coro(io_, a->list_range("log"));
  ASSERT_TRUE(log.has_value()) << log.error().describe();
  EXPECT_EQ(log->size(), 10u);
}

TEST_F(PostgresStoreTest, AStatementWithoutAnAnswerInTimeIsATimeout) {
  options_.command_timeout = 300ms;
  auto provider = open_store(testing::fresh_postgres_url(), options_);
  auto store = provider->store_for(io_.get_executor());
  ASSERT_TRUE(run_coro(io_, store->set("k", "v")).has_value());
  // Freeze the server process of our connection: the statement gets no answer. Connections of
  // earlier tests may still be on their way out; wait (bounded) until ours is the only one.
  std::string pid;
  for (int i = 0; i < 200; ++i) {
    pid = server_.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'outboard'");
    if (!pid.empty() && pid.find('\n') == std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(pid.find('\n'), std::string::npos) << "more than one connection: " << pid;
  ::kill(std::stoi(pid), SIGSTOP);
  auto got = run_coro(io_, store->get("k"));
  ::kill(std::stoi(pid), SIGCONT);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::timeout) << got.error().describe();
  // The connection was dropped; a later call reconnects and answers.
  Result<std::optional<std::string>> again = core::make_error(Errc::unavailable, "not asked yet");
  for (int i = 0; i < 300 && !again.has_value(); ++i) {
    again = run_coro(io_, store->get("k"));
    if (!again.has_value()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  EXPECT_EQ(*again, "v");
}

}  // namespace
}  // namespace outboard::state
