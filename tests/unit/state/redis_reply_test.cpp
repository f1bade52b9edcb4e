#include "state/redis/redis_reply.hpp"

#include <gtest/gtest.h>

#include <string>

namespace outboard::state::redis_reply {
namespace {

Reply error_reply(std::string text) {
  Reply reply;
  reply.type = Reply::Type::error;
  reply.str = std::move(text);
  return reply;
}

// CI once saw a login answered 500 while the lab restarted its redis-server: a command that met
// the server still loading its data got "-LOADING ...", which was mapped to an internal error.
// A server in a passing state is unavailable (a 503: try again), never internal.
TEST(RedisReply, APassingServerStateIsUnavailable) {
  for (std::string text : {"LOADING Redis is loading the dataset in memory",
                           "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
                           "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                           "TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down",
                           "READONLY You can't write against a read only replica.",
                           "NOREPLICAS Not enough good replicas to write.",
                           "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist"}) {
    Error e = to_error("SET", error_reply(text));
    EXPECT_EQ(e.code, Errc::unavailable) << text;
    EXPECT_NE(e.context.find(text.substr(0, text.find(' '))), std::string::npos) << e.context;
  }
}

TEST(RedisReply, MisuseIsInvalidAndAnythingElseInternal) {
  EXPECT_EQ(to_error("INCRBY", error_reply("ERR value is not an integer or out of range")).code, Errc::invalid);
  EXPECT_EQ(to_error("GET", error_reply("WRONGTYPE Operation against a key holding the wrong kind of value")).code,
            Errc::invalid);
  EXPECT_EQ(to_error("GET", error_reply("ERR unknown command 'GETT'")).code, Errc::internal);
  // A code is a whole word: a message that merely begins with the same letters is not one.
  EXPECT_EQ(to_error("GET", error_reply("LOADINGX something")).code, Errc::internal);
}

}  // namespace
}  // namespace outboard::state::redis_reply
