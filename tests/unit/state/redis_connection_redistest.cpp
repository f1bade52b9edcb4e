// The redis backend's own behaviour, against a private redis-server: one pipelined connection per
// event loop, failure while Redis is down or hung, recovery after it returns, database selection.
// What every backend shares is in store_conformance_test.cpp.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"
#include "state/store.hpp"
#include "support/free_port.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;
using Clock = std::chrono::steady_clock;

TEST(Resp, EncodesCommandsAsBinarySafeBulkStrings) {
  std::string value("a\0b\r\n", 5);
  constexpr char kWire[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0b\r\n\r\n";
  EXPECT_EQ(encode_command({"SET", "k", value}), std::string(kWire, sizeof kWire - 1));
  EXPECT_EQ(encode_command({"GET", ""}), "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
}

TEST(Resp, ReaderAssemblesRepliesFromPartialBytes) {
  RespReader reader;
  std::string bytes = "+OK\r\n$5\r\nhello\r\n*2\r\n:42\r\n$-1\r\n-ERR bad\r\n";
  std::vector<Reply> replies;
  for (char c : bytes) {  // one byte at a time: the worst split a socket can give
    ASSERT_TRUE(reader.feed(&c, 1).has_value());
    for (;;) {
      auto next = reader.next();
      ASSERT_TRUE(next.has_value());
      if (!*next) break;
      replies.push_back(std::move(**next));
    }
  }
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].type, Reply::Type::status);
  EXPECT_EQ(replies[1].str, "hello");
  ASSERT_EQ(replies[2].elements.size(), 2u);
  EXPECT_EQ(replies[2].elements[0].integer, 42);
  EXPECT_EQ(replies[2].elements[1].type, Reply::Type::nil);
  EXPECT_TRUE(replies[3].is_error());
  EXPECT_EQ(replies[3].str, "ERR bad");
}

TEST(Resp, ReaderRejectsBytesThatAreNotResp) {
  RespReader reader;
  std::string junk = "?what\r\n";
  ASSERT_TRUE(reader.feed(junk.data(), junk.size()).has_value());
  auto next = reader.next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code, Errc::internal);
}

class RedisBackend : public ::testing::Test {
 protected:
  std::shared_ptr<Store> make_store(int db, Millis timeout = 1000ms) {
    return make_store_at(redis_.url(db), timeout);
  }

  std::shared_ptr<Store> make_store_at(std::string const& url, Millis timeout) {
    StoreOptions options;
    options.clock = &clock_;
    options.command_timeout = timeout;
    providers_.push_back(open_store(url, options));
    return providers_.back()->store_for(io_.get_executor());
  }

  template <class T>
  Result<T> run(boost::asio::awaitable<Result<T>> op) {
    return run_coro(io_, std::move(op));
  }

  // Asks until the store answers (a reconnect may be waiting out its backoff), bounded.
  template <class T>
  Result<T> run_until_ok(std::function<boost::asio::awaitable<Result<T>>()> op,
                         std::chrono::seconds limit = 10s) {
    auto deadline = Clock::now() + limit;
    for (;;) {
      Result<T> r = run(op());
      if (r.has_value() || Clock::now() >= deadline) return r;
      EXPECT_TRUE(r.error().transient()) << r.error().describe();
      std::this_thread::sleep_for(20ms);
    }
  }

  // A raw command on a connection of the test's own, for what the Store interface does not show.
  Result<Reply> raw(std::initializer_list<std::string_view> args, int db = 0) {
    auto conn = RedisConnection::create(io_.get_executor(),
                                        RedisEndpoint{"127.0.0.1", redis_.port(), "", db, 1000ms});
    auto r = run(conn->execute(encode_command(args)));
    conn->close();
    return r;
  }

  // INFO's total_connections_received, asked over a connection of its own (counted too).
  std::int64_t connections_received() {
    auto info = raw({"INFO", "stats"});
    EXPECT_TRUE(info.has_value());
    if (!info) return -1;
    std::string const field = "total_connections_received:";
    auto at = info->str.find(field);
    EXPECT_NE(at, std::string::npos) << info->str;
    if (at == std::string::npos) return -1;
    return std::stoll(info->str.substr(at + field.size()));
  }

  core::ManualClock clock_;
  testing::RedisServer redis_;
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<StoreProvider>> providers_;
};

// (a) 1000 coroutines at once on one event loop: each writes its own key and reads it back.
// Replies are matched to commands by order alone, so any slip in the FIFO shows up as a wrong
// value; and all of it must travel over one connection.
TEST_F(RedisBackend, PipelinesConcurrentCommandsOverOneConnection) {
  auto before = connections_received();
  auto store = make_store(0);
  auto one = [store](int i) -> Async<std::string> {
    std::string key = "key:" + std::to_string(i);
    std::string value =
        "value:" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 7), '\0');
    auto set = co_await store->set(key, value);
    if (!set) co_return set.error();
    auto got = co_await store->get(key);
    if (!got) co_return got.error();
    if (*got != value) co_return core::make_error(Errc::internal, "mismatch at " + key);
    co_return std::move(**got);
  };
  constexpr int kCount = 1000;
  std::vector<std::future<Result<std::string>>> pending;
  for (int i = 0; i < kCount; ++i) {
    pending.push_back(boost::asio::co_spawn(io_, one(i), boost::asio::use_future));
  }
  int ok = 0;
  for (auto& f : pending) {
    testing::run_until_ready(io_, f);
    auto r = f.get();
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    ok += r.has_value() ? 1 : 0;
  }
  EXPECT_EQ(ok, kCount);

  // Redis counts every connection it accepts: between the two questions, only the store's one
  // connection and the second question's own. No connection per request, no reconnect.
  auto after = connections_received();
  EXPECT_EQ(after - before, 2);
}

// (b) Redis killed: commands fail as unavailable (never a value, never a hang); once it is back,
// commands succeed again and every write acknowledged before the crash is still there.
TEST_F(RedisBackend, FailsWhileRedisIsDownAndRecoversAfterRestart) {
  auto store = make_store(3);
  ASSERT_TRUE(run(store->set("before", "kept")).has_value());
  ASSERT_TRUE(run(store->hset("session", {{"user", "ada"}}, 60000ms)).has_value());

  redis_.kill();
  for (int i = 0; i < 3; ++i) {  // the drop itself, a refused reconnect, then backoff
    auto start = Clock::now();
    auto r = run(store->get("before"));
    ASSERT_FALSE(r.has_value()) << "a value from a dead store";
    EXPECT_TRUE(r.error().code == Errc::unavailable || r.error().code == Errc::timeout)
        << r.error().describe();
    EXPECT_LT(Clock::now() - start, 1500ms);
  }

  redis_.restart();
  auto got = run_until_ok<std::optional<std::string>>([&] { return store->get("before"); });
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(*got, "kept");
  auto user = run(store->hget("session", "user"));
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, "ada");
}

// (c) Redis hung (SIGSTOP): the socket stays up but nothing answers. A command must give up with
// Errc::timeout at its deadline, others in flight must fail too, and after SIGCONT it recovers.
TEST_F(RedisBackend, TimesOutWhileRedisIsHungAndRecoversAfterResume) {
  auto store = make_store(0, 200ms);
  ASSERT_TRUE(run(store->set("k", "v")).has_value());

  redis_.pause();
  std::vector<std::future<Result<std::optional<std::string>>>> others;
  for (int i = 0; i < 5; ++i) {
    others.push_back(boost::asio::co_spawn(io_, store->get("k"), boost::asio::use_future));
  }
  auto start = Clock::now();
  auto r = run(store->get("k"));
  auto took = Clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::timeout) << r.error().describe();
  EXPECT_GE(took, 180ms);
  EXPECT_LT(took, 1000ms);
  for (auto& f : others) {
    testing::run_until_ready(io_, f);
    auto o = f.get();
    ASSERT_FALSE(o.has_value());
    EXPECT_TRUE(o.error().transient()) << o.error().describe();
  }
  EXPECT_LT(Clock::now() - start, 1000ms);

  redis_.resume();
  auto got = run_until_ok<std::optional<std::string>>([&] { return store->get("k"); });
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(*got, "v");
}

// (d) redis://host:port/N selects database N on every (re)connect.
TEST_F(RedisBackend, DatabasesAreSeparate) {
  auto three = make_store(3);
  auto four = make_store(4);
  ASSERT_TRUE(run(three->set("only-in-3", "x")).has_value());
  auto in_four = run(four->get("only-in-3"));
  ASSERT_TRUE(in_four.has_value());
  EXPECT_EQ(*in_four, std::nullopt);
  auto in_three = run(three->get("only-in-3"));
  ASSERT_TRUE(in_three.has_value());
  EXPECT_EQ(*in_three, "x");
  auto raw_three = raw({"GET", "only-in-3"}, 3);
  ASSERT_TRUE(raw_three.has_value());
  EXPECT_EQ(raw_three->str, "x");
}

TEST_F(RedisBackend, NothingListeningIsUnavailableAndBacksOff) {
  auto nobody = "redis://127.0.0.1:" + std::to_string(testing::free_port()) + "/0";
  auto store = make_store_at(nobody, 1000ms);
  auto first = run(store->ping());
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, Errc::unavailable) << first.error().describe();
  // Within the backoff the store fails at once, without another connect.
  auto second = run(store->ping());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::unavailable);
  EXPECT_NE(second.error().context.find("next reconnect"), std::string::npos)
      << second.error().describe();
}

TEST_F(RedisBackend, RefusedHandshakeIsUnavailable) {
  // This server has no password: AUTH is refused, and no command may run unauthenticated.
  auto url = "redis://:secret@127.0.0.1:" + std::to_string(redis_.port()) + "/0";
  auto store = make_store_at(url, 1000ms);
  auto r = run(store->set("k", "v"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().context.find("AUTH"), std::string::npos) << r.error().describe();
  auto raw_get = raw({"EXISTS", "k"});
  ASSERT_TRUE(raw_get.has_value());
  EXPECT_EQ(raw_get->integer, 0);
}

// The store may go away while a command waits for its reply: the command ends (unavailable)
// and nothing touches the freed store.
TEST_F(RedisBackend, StoreDestroyedWhileACommandWaits) {
  auto store = make_store(0, 5000ms);
  ASSERT_TRUE(run(store->set("k", "v")).has_value());
  redis_.pause();
  auto waiting = boost::asio::co_spawn(io_, store->get("k"), boost::asio::use_future);
  for (int i = 0; i < 10; ++i) io_.run_one_for(5ms);  // written, now waiting for a reply
  auto start = Clock::now();
  store.reset();
  testing::run_until_ready(io_, waiting);
  auto r = waiting.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().describe();
  EXPECT_LT(Clock::now() - start, 1000ms);
  redis_.resume();
}

}  // namespace
}  // namespace outboard::state
