// How the redis store sends its Lua scripts (state/redis/lua_script.hpp): by SHA1, and by text
// once when Redis does not know the script. commit_if against a private redis-server: the first
// call meets NOSCRIPT and loads the script, later calls go by SHA1 only, and after a SCRIPT FLUSH
// (what a restarted Redis is) the next call loads it again and still writes.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>

#include "state/redis/lua_script.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"
#include "state/store.hpp"
#include "redis_elsewhere.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

TEST(LuaScript, WithScriptTextIsTheSameCallByText) {
  std::string const text = "return {KEYS[1], ARGV[1]}";
  auto script = redis_lua::make_lua_script(text);
  EXPECT_EQ(script.sha.size(), 40u);
  std::string by_sha = encode_command({"EVALSHA", script.sha, "1", "k\r\n", ""});
  EXPECT_EQ(redis_lua::with_script_text(by_sha, text), encode_command({"EVAL", text, "1", "k\r\n", ""}));
  EXPECT_THROW(redis_lua::with_script_text(encode_command({"EVAL", text, "0"}), text), std::logic_error);
}

class LuaScriptRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    provider_ = open_store(redis_.url(), StoreOptions{});
    store_ = provider_->store_for(io_.get_executor());
  }

  Result<Reply> elsewhere(std::initializer_list<std::string_view> args) { return redis_elsewhere(redis_.port(), args); }
  std::int64_t calls(std::string const& command) { return redis_calls(redis_.port(), command); }

  // commit_if: set `key` to `value` when it is absent.
  bool set_if_absent(std::string const& key, std::string const& value) {
    auto r = run_coro(io_, store_->commit_if({Condition::absent(key)}, {Write::set(key, value)}));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() && *r;
  }

  testing::RedisServer redis_;
  boost::asio::io_context io_;
  std::unique_ptr<StoreProvider> provider_;
  std::shared_ptr<Store> store_;
};

TEST_F(LuaScriptRedis, CommitIfGoesBySha1AndLoadsItsScriptAgainAfterAFlush) {
  EXPECT_TRUE(set_if_absent("a", "1"));  // NOSCRIPT, then EVAL: loaded
  EXPECT_EQ(calls("evalsha"), 1);
  EXPECT_EQ(calls("eval"), 1);

  EXPECT_TRUE(set_if_absent("b", "2"));
  EXPECT_FALSE(set_if_absent("a", "again"));  // a condition that fails is an answer too
  EXPECT_EQ(calls("evalsha"), 3);
  EXPECT_EQ(calls("eval"), 1) << "a known script was sent by its text";

  ASSERT_TRUE(elsewhere({"SCRIPT", "FLUSH"}).has_value());
  EXPECT_TRUE(set_if_absent("c", "3"));
  EXPECT_EQ(calls("eval"), 2);
  for (auto [key, value] : {std::pair{"a", "1"}, {"b", "2"}, {"c", "3"}}) {
    auto got = run_coro(io_, store_->get(key));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, std::optional<std::string>(value)) << key;
  }
}

// compare_and_set (the idempotency records' and the carts' chosen writes) goes the same way.
TEST_F(LuaScriptRedis, CompareAndSetGoesBySha1AndLoadsItsScriptAgainAfterAFlush) {
  auto cas = [&](std::string key, std::optional<std::string> expected, std::string desired) {
    auto r = run_coro(io_, store_->compare_and_set(std::move(key), std::move(expected), std::move(desired), {}));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() && *r;
  };
  EXPECT_TRUE(cas("k", std::nullopt, "1"));  // NOSCRIPT, then EVAL: loaded
  EXPECT_TRUE(cas("k", "1", "2"));
  EXPECT_FALSE(cas("k", "1", "3"));  // a condition that fails is an answer too
  EXPECT_EQ(calls("evalsha"), 3);
  EXPECT_EQ(calls("eval"), 1) << "a known script was sent by its text";

  ASSERT_TRUE(elsewhere({"SCRIPT", "FLUSH"}).has_value());
  EXPECT_TRUE(cas("k", "2", "4"));
  EXPECT_EQ(calls("eval"), 2);
  auto got = run_coro(io_, store_->get("k"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, std::optional<std::string>("4"));
}

// Each redis.call is a good part of a script's cost: a condition is one read, and TYPE is asked
// only for a hash or list write to a key whose type no condition has shown.
TEST_F(LuaScriptRedis, CommitIfReadsEachConditionOnceAndAsksTypeOnlyWhereItMustKnow) {
  ASSERT_TRUE(elsewhere({"SET", "fence", "7"}).has_value());
  auto commit = [&](std::vector<Condition> conditions, std::vector<Write> writes) {
    auto r = run_coro(io_, store_->commit_if(std::move(conditions), std::move(writes)));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() && *r;
  };
  // A fenced write and its marker, as a job's handler commits: no TYPE at all.
  EXPECT_TRUE(commit({Condition::equals("fence", "7"), Condition::field_absent("done", "job-1")},
                     {Write::hset("done", "job-1", "x"), Write::set("effect", "1"), Write::del("gone")}));
  EXPECT_EQ(calls("type"), 0);
  EXPECT_EQ(calls("get"), 1);
  EXPECT_EQ(calls("hexists"), 1);
  // A hash write to a key no condition read: its type must be known first.
  EXPECT_TRUE(commit({}, {Write::hset("other", "f", "v")}));
  EXPECT_EQ(calls("type"), 1);
  // A key of another type under a hash condition is still a type error, not a false condition.
  auto mistyped = run_coro(io_, store_->commit_if({Condition::equals("fence", "8"), Condition::field_absent("fence", "f")},
                                                  {Write::set("effect", "2")}));
  EXPECT_FALSE(mistyped.has_value()) << "a type error must win over the false condition before it";
}

// A condition's read that Redis refuses for another reason than the key's type (here an ACL) is
// answered as that error: not as a type error, not as a false condition.
TEST_F(LuaScriptRedis, CommitIfAnswersAConditionsOtherErrorsAsTheyAre) {
  ASSERT_TRUE(set_if_absent("k", "v"));  // the script is loaded
  ASSERT_TRUE(elsewhere({"ACL", "SETUSER", "default", "-hexists", "-get"}).has_value());
  for (auto condition : {Condition::field_absent("h", "f"), Condition::equals("k", "v")}) {
    auto r = run_coro(io_, store_->commit_if({condition}, {Write::set("effect", "1")}));
    ASSERT_FALSE(r.has_value()) << "a refused read is neither true nor false";
    EXPECT_NE(r.error().code, core::Errc::invalid) << r.error().describe();
    // Redis 7.0 words it "ERR The user executing the script can't run this command ...".
    EXPECT_EQ(r.error().describe().find("WRONGTYPE"), std::string::npos) << r.error().describe();
    EXPECT_NE(r.error().describe().find("can't run this command"), std::string::npos) << r.error().describe();
  }
}

}  // namespace
}  // namespace outboard::state
