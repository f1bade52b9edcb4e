#pragma once
// What the GET /ws integration tests share: instances, logged-in browsers, protocol messages,
// and the scenario every store backend must pass (sqlite in serve_realtime_test.cpp, redis in
// serve_realtime_redistest.cpp).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/ws_client.hpp"

namespace outboard::testing::realtime_fixture {

using nlohmann::json;

inline ServeOptions instance(std::string name, std::string state, std::vector<std::string> keys,
                      std::map<std::string, std::string> env = {}) {
  ServeOptions o;
  o.name = std::move(name);
  o.state = std::move(state);
  o.session_keys = std::move(keys);
  o.env = std::move(env);
  return o;
}

// A browser logged in as `user` (signed up first) through `port`.
inline HttpClient logged_in(std::uint16_t port, std::string const& user) {
  HttpClient browser(port);
  auto signed_up = browser.post("/signup", credentials_json(user, kPassword));
  if (signed_up.status != 201) throw std::runtime_error("signup: " + signed_up.body);
  auto login = browser.post("/login", credentials_json(user, kPassword));
  if (login.status != 200) throw std::runtime_error("login: " + login.body);
  return browser;
}

inline json join(std::string room, std::optional<std::int64_t> since = std::nullopt) {
  json m{{"type", "join"}, {"room", std::move(room)}};
  if (since) m["since"] = *since;
  return m;
}

inline json say(std::string room, std::string id, std::string text) {
  return json{{"type", "send"}, {"room", std::move(room)}, {"id", std::move(id)}, {"text", std::move(text)}};
}

inline double realtime_counter(std::uint16_t port, std::string const& series) {
  HttpClient scraper(port);
  auto samples = prometheus_samples(scraper.get("/metrics").body);
  auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

// A message written on A reaches a member on B; a resend of one id is one message; a member
// that drops and comes back through the other instance with its last seq gets exactly what it
// missed, in order, then live messages. Leaves ada's four messages and one resend in "lobby".
inline void expect_cross_instance_fan_out_and_resume(ServeProcess& a, ServeProcess& b) {
  auto ada = logged_in(a.port(), "ada");
  auto bob = logged_in(b.port(), "bob");

  WsClient ada_ws(a.port(), cookie_header(ada));
  EXPECT_EQ(ada_ws.next_of_type("hello")["user"], "ada");
  ada_ws.send(join("lobby"));
  EXPECT_EQ(ada_ws.next_of_type("joined")["seq"], 0);
  std::optional<WsClient> bob_ws;
  bob_ws.emplace(b.port(), cookie_header(bob));
  bob_ws->send(join("lobby"));
  bob_ws->next_of_type("joined");

  ada_ws.send(say("lobby", "m1", "hello"));
  auto sent = ada_ws.next_of_type("sent");
  EXPECT_EQ(sent["seq"], 1);
  EXPECT_FALSE(sent.contains("duplicate"));
  auto heard = bob_ws->next_of_type("message");  // written on A, heard on B
  EXPECT_EQ(heard["room"], "lobby");
  EXPECT_EQ(heard["seq"], 1);
  EXPECT_EQ(heard["from"], "ada");
  EXPECT_EQ(heard["id"], "m1");
  EXPECT_EQ(heard["text"], "hello");
  EXPECT_GT(heard["at"].get<std::int64_t>(), 0);

  // A resend of the same id is the same message, not a second one.
  ada_ws.send(say("lobby", "m1", "hello"));
  auto resent = ada_ws.next_of_type("sent");
  EXPECT_EQ(resent["seq"], 1);
  EXPECT_EQ(resent["duplicate"], true);

  bob_ws.reset();  // bob's connection drops; the room goes on without him
  for (std::string id : {"m2", "m3", "m4"}) {
    ada_ws.send(say("lobby", id, "while bob was away"));
    ada_ws.next_of_type("sent");
  }
  // bob comes back through the other instance with the last seq he saw.
  bob_ws.emplace(a.port(), cookie_header(bob));
  bob_ws->next_of_type("hello");
  bob_ws->send(join("lobby", 1));
  for (int seq : {2, 3, 4}) {
    auto missed = bob_ws->next();
    ASSERT_EQ(missed["type"], "message") << missed.dump();
    EXPECT_EQ(missed["seq"], seq);
  }
  EXPECT_EQ(bob_ws->next()["type"], "joined");
  ada_ws.send(say("lobby", "m5", "live again"));
  auto live = bob_ws->next_of_type("message");
  EXPECT_EQ(live["seq"], 5);  // not 1 again (the duplicate), not a gap
  EXPECT_EQ(live["id"], "m5");
}

}  // namespace outboard::testing::realtime_fixture
