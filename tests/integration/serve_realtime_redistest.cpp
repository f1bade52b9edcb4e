// GET /ws on two `outboard serve` processes sharing one private redis-server: the same fan-out
// and resume as on sqlite, then a redis restart: each process's one subscriber connection comes
// back, and a message written after the restart still reaches the other instance.
#include <gtest/gtest.h>

#include "integration/realtime_fixture.hpp"
#include "support/redis_server.hpp"

// In the fixture's namespace rather than `using namespace realtime_fixture`: a using-directive
// would hold for the files after this one in a unity batch.
namespace outboard::testing::realtime_fixture {
namespace {


TEST(ServeRealtimeRedis, MessagesCrossInstancesResumeAndSurviveAStoreRestart) {
  RedisServer redis;
  auto keys = std::vector<std::string>{make_session_key()};
  ServeProcess a(instance("A", redis.url(), keys));
  ServeProcess b(instance("B", redis.url(), keys));
  expect_cross_instance_fan_out_and_resume(a, b);  // lobby holds seqs 1..5

  auto ada = logged_in(a.port(), "ann");
  auto bob = logged_in(b.port(), "ben");
  WsClient writer(a.port(), cookie_header(ada));
  writer.send(join("lobby", 5));
  writer.next_of_type("joined");
  WsClient listener(b.port(), cookie_header(bob));
  listener.send(join("lobby", 5));
  EXPECT_EQ(listener.next_of_type("joined")["seq"], 5);

  redis.kill();
  redis.restart();
  // Resent with the same id until stored (each answer, `sent` or `store_unavailable`, is an event).
  json answer;
  for (int tries = 0; tries < 200; ++tries) {
    writer.send(say("lobby", "after-restart", "still here"));
    answer = writer.next();
    while (answer["type"] == "message") answer = writer.next();
    if (answer["type"] == "sent") break;
    ASSERT_EQ(answer["error"], "store_unavailable") << answer.dump();
  }
  ASSERT_EQ(answer["type"], "sent") << answer.dump();
  EXPECT_EQ(answer["seq"], 6);  // the history and the counter survived (appendfsync always)
  auto heard = listener.next_of_type("message");
  EXPECT_EQ(heard["seq"], 6);
  EXPECT_EQ(heard["id"], "after-restart");
}

}  // namespace
}  // namespace outboard::testing::realtime_fixture
