// A serve on redis exits 0 after SIGTERM. Its worker threads' store, feed and job-queue
// connections hand their closing to the thread's event loop when they go; the loop used to be
// destroyed first, a heap-use-after-free at every exit that an ASan build aborts on (exit 134).
#include <gtest/gtest.h>

#include <signal.h>

#include "support/http_client.hpp"
#include "support/redis_server.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

TEST(ServeRedisExit, SigtermExitsZeroAfterUsingEveryRedisConnection) {
  RedisServer redis;
  ServeOptions o;
  o.state = redis.url();
  ServeProcess serve(o);
  HttpClient c(serve.port());
  // A session write and a checkout's job enqueue: the store and job-queue connections are open.
  EXPECT_EQ(c.post("/signup", credentials_json("ada", "correct-horse")).status, 201);
  EXPECT_EQ(c.get("/readyz").status, 200);
  serve.signal(SIGTERM);
  auto code = serve.wait_exit(30'000);
  ASSERT_TRUE(code.has_value()) << serve.log();
  EXPECT_EQ(*code, 0) << serve.log();
}

}  // namespace
}  // namespace outboard::testing
