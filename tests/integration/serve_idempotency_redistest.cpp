// An idempotent request whose session commit fails must leave no recorded answer: a retry with
// the same key runs again and succeeds, instead of replaying a 2xx the client never got. The
// failure is real: sessions live in their own redis-server, which is made to refuse writes
// (min-replicas-to-write with no replica) while still answering reads, so the request gets as
// far as the commit.
#include <gtest/gtest.h>

#include <string>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

// One command to redis over RESP; waits for its +OK.
void redis_config_set(std::uint16_t port, std::string const& name, std::string const& value) {
  auto bulk = [](std::string const& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; };
  RawConnection redis(port);
  redis.send("*4\r\n" + bulk("CONFIG") + bulk("SET") + bulk(name) + bulk(value));
  ASSERT_TRUE(redis.receive_until("+OK\r\n")) << "CONFIG SET " << name << " was not acknowledged";
}

TEST(ServeIdempotency, AFailedSessionCommitLeavesNoRecordedAnswer) {
  RedisServer sessions;
  ServeOptions o;
  o.state = "memory://";  // accounts, carts and idempotency records
  o.extra_args = {"--sessions", sessions.url()};
  // Every request refreshes the session, so every request's commit writes to the session store.
  o.env = {{"OUTBOARD_SERVE_SESSIONS_TOUCH_INTERVAL_S", "0"}};
  ServeProcess serve(o);

  HttpClient c(serve.port());
  ASSERT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
  ASSERT_EQ(c.post("/login", credentials_json("ada", kPassword)).status, 200);
  std::string body = R"({"sku":"sku-001","qty":2})";
  HeaderList key{{"Idempotency-Key", "commit-fails"}};

  redis_config_set(sessions.port(), "min-replicas-to-write", "1");
  auto failed = c.request("POST", "/cart/items", body, key);
  EXPECT_EQ(failed.status, 503) << failed.body;
  EXPECT_TRUE(failed.header("Retry-After"));

  redis_config_set(sessions.port(), "min-replicas-to-write", "0");
  auto retried = c.request("POST", "/cart/items", body, key);
  EXPECT_EQ(retried.status, 201) << retried.body;
  EXPECT_FALSE(retried.header("Idempotent-Replayed")) << "an answer was recorded for the failed request";
  // The handler ran twice with one key: still one line (its id comes from the key).
  auto cart = c.get("/cart");
  ASSERT_EQ(cart.status, 200);
  EXPECT_EQ(cart.json().value("lines", nlohmann::json::array()).size(), 1u) << cart.body;
  // And now the answer is recorded.
  EXPECT_EQ(c.request("POST", "/cart/items", body, key).header("Idempotent-Replayed"), "true");
}

}  // namespace
}  // namespace outboard::testing
