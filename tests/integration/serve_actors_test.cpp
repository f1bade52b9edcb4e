// Game rooms as actors across two `outboard serve` processes on one SQLite file (docs/ACTORS.md):
// forwarding to the owner, a room surviving its owner's kill -9 up to its last checkpoint (fully
// with the journal), and a paused owner that wakes after losing its lease accepting nothing.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "actors/paint_room.hpp"
#include "actors/room_records.hpp"
#include "state/store.hpp"
#include "support/http_client.hpp"
#include "support/run_coro.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/stop_outside_a_write.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_client.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

ServeOptions room_server(std::string name, std::string state, std::vector<std::string> keys, std::string mode,
                         int checkpoint_ms, int idle_ms = 30'000) {
  ServeOptions o;
  o.name = std::move(name);
  o.state = std::move(state);
  o.session_keys = std::move(keys);
  o.env = {{"OUTBOARD_SERVE_ACTORS_ENABLED", "true"},
           {"OUTBOARD_SERVE_ACTORS_MODE", std::move(mode)},
           {"OUTBOARD_SERVE_ACTORS_LEASE_TTL_MS", "800"},
           {"OUTBOARD_SERVE_ACTORS_HEARTBEAT_MS", "200"},
           {"OUTBOARD_SERVE_ACTORS_CHECKPOINT_INTERVAL_MS", std::to_string(checkpoint_ms)},
           {"OUTBOARD_SERVE_ACTORS_IDLE_TIMEOUT_MS", std::to_string(idle_ms)}};
  return o;
}

HttpClient logged_in(std::uint16_t port, std::string const& user) {
  HttpClient browser(port);
  auto signed_up = browser.post("/signup", credentials_json(user, kPassword));
  if (signed_up.status != 201) throw std::runtime_error("signup: " + signed_up.body);
  auto login = browser.post("/login", credentials_json(user, kPassword));
  if (login.status != 200) throw std::runtime_error("login: " + login.body);
  return browser;
}

// Opens the room through `port` and joins it, trying again (bounded) while the upgrade is refused:
// 503 while a dead or paused owner's lease runs out. Returns the connection and its welcome.
std::pair<std::unique_ptr<WsClient>, json> enter(std::uint16_t port, HttpClient const& who, std::string const& room) {
  for (int attempt = 0; attempt < 300; ++attempt) {
    std::unique_ptr<WsClient> ws;
    try {
      ws = std::make_unique<WsClient>(port, cookie_header(who), "/rooms/" + room);
    } catch (std::runtime_error const&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the poll's pace, not a synchronization
      continue;
    }
    ws->send(json{{"type", "join"}});
    auto welcome = ws->next();
    if (welcome["type"] != "welcome") throw std::runtime_error("join: " + welcome.dump());
    return {std::move(ws), welcome};
  }
  throw std::runtime_error("the room never opened through port " + std::to_string(port));
}

json move(WsClient& ws, std::int64_t seq, int x = 1, int y = 1) {
  ws.send(json{{"type", "move"}, {"seq", seq}, {"x", x}, {"y", y}});
  return ws.next();
}

// The owner's port, from an activation "127.0.0.1:PORT#incarnation/generation".
std::uint16_t owner_port(json const& message) {
  std::string activation = message["activation"];
  auto colon = activation.find(':');
  return static_cast<std::uint16_t>(std::stoi(activation.substr(colon + 1, activation.find('#') - colon - 1)));
}
std::int64_t generation(json const& message) {
  std::string activation = message["activation"];
  return std::stoll(activation.substr(activation.rfind('/') + 1));
}

class ServeActors : public ::testing::Test {
 protected:
  void start(std::string const& mode, int checkpoint_ms, int idle_ms = 30'000) {
    std::string state = "sqlite://" + (dir_.path() / "rooms.db").string();
    a_ = std::make_unique<ServeProcess>(room_server("a", state, keys_, mode, checkpoint_ms, idle_ms));
    b_ = std::make_unique<ServeProcess>(room_server("b", state, keys_, mode, checkpoint_ms, idle_ms));
    state_url_ = state;
  }
  ServeProcess& by_port(std::uint16_t port) { return a_->port() == port ? *a_ : *b_; }
  ServeProcess& other_than(std::uint16_t port) { return a_->port() == port ? *b_ : *a_; }

  // A coroutine over the rooms' store, as another client of it. Opened once: opening a SQLite
  // store writes (its schema), and a test polling by reopening it starved the servers' writes.
  template <class T>
  T in_store(std::function<boost::asio::awaitable<core::Result<T>>(state::Store&)> op) {
    if (!store_) {
      state::StoreOptions options;
      options.clock = &clock_;
      provider_ = state::open_store(state_url_, options);
      store_ = provider_->store_for(io_.get_executor());
    }
    auto result = run_coro(io_, op(*store_));
    if (!result) throw std::runtime_error(result.error().context);
    return *result;
  }

  // What the store holds as the room's last checkpoint, plus its journal replayed.
  actors::PaintRoom saved_room(std::string const& room) {
    auto saved = in_store<actors::SavedRoom>([room](state::Store& store) { return actors::load_room(store, room); });
    actors::PaintRoom state;
    if (saved.checkpoint) state = *actors::PaintRoom::decode(*saved.checkpoint);
    for (auto const& text : saved.journal) {
      auto entry = actors::PaintRoom::decode_entry(text);
      state.apply(entry->player, entry->move);
    }
    return state;
  }

  // Kills the room's owner (kill -9, reaped), then rejoins through the other server: the welcome
  // of the room's next activation, and what the store held when the owner died.
  std::pair<json, std::int64_t> kill_owner_and_rejoin(json const& welcome, HttpClient const& who) {
    ServeProcess& owner = by_port(owner_port(welcome));
    owner.signal(SIGKILL);
    EXPECT_TRUE(owner.wait_exit(20'000));
    std::int64_t saved = saved_room("r1").last_seq("ada");
    auto [ws, again] = enter(other_than(owner.port()).port(), who, "r1");
    EXPECT_GT(generation(again), generation(welcome));
    EXPECT_NE(owner_port(again), owner.port());
    return {again, saved};
  }

  TempDir dir_;
  std::vector<std::string> keys_{make_session_key()};
  std::string state_url_;
  core::SystemClock clock_;
  boost::asio::io_context io_;
  std::unique_ptr<state::StoreProvider> provider_;
  std::shared_ptr<state::Store> store_;
  std::unique_ptr<ServeProcess> a_;
  std::unique_ptr<ServeProcess> b_;
};

TEST_F(ServeActors, PlayersOnEitherServerShareOneRoomThroughItsOwner) {
  start("checkpointed", 100);
  auto ada = logged_in(a_->port(), "ada");
  auto bob = logged_in(a_->port(), "bob");
  auto [ada_ws, ada_welcome] = enter(a_->port(), ada, "r1");
  std::uint16_t owner = owner_port(ada_welcome);
  // bob comes through the server that does not own the room: relayed to the owner.
  auto [bob_ws, bob_welcome] = enter(other_than(owner).port(), bob, "r1");
  EXPECT_EQ(bob_welcome["activation"], ada_welcome["activation"]);
  auto moved = move(*bob_ws, 1, 4, 5);
  EXPECT_EQ(moved["type"], "moved") << moved.dump();
  auto heard = ada_ws->next();  // broadcast by the owner to both
  EXPECT_EQ(heard["player"], "bob");
  EXPECT_EQ(heard["seq"], 1);
  auto refused = move(*ada_ws, 2);
  EXPECT_EQ(refused["reason"], "out_of_order");
  EXPECT_EQ(refused["expected"], 1);
}

TEST_F(ServeActors, ACheckpointedRoomSurvivesItsOwnersKillUpToItsLastCheckpoint) {
  start("checkpointed", 50);
  auto ada = logged_in(a_->port(), "ada");
  auto [ws, welcome] = enter(a_->port(), ada, "r1");
  for (int seq = 1; seq <= 5; ++seq) ASSERT_EQ(move(*ws, seq)["seq"], seq);
  for (int poll = 0; poll < 200 && saved_room("r1").last_seq("ada") < 5; ++poll) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // until the owner's checkpoint shows
  }
  ASSERT_EQ(saved_room("r1").last_seq("ada"), 5);
  for (int seq = 6; seq <= 8; ++seq) ASSERT_EQ(move(*ws, seq)["seq"], seq);
  auto [again, saved] = kill_owner_and_rejoin(welcome, ada);
  EXPECT_GE(saved, 5);
  EXPECT_EQ(again["last_seq"], saved);  // exactly the last checkpoint: what followed it is the documented loss
}

TEST_F(ServeActors, AJournaledRoomLosesNoAcknowledgedMoveToItsOwnersKill) {
  start("journaled", 3'600'000);  // no checkpoint in this test's life: the journal alone carries the moves
  auto ada = logged_in(a_->port(), "ada");
  auto [ws, welcome] = enter(a_->port(), ada, "r1");
  for (int seq = 1; seq <= 8; ++seq) ASSERT_EQ(move(*ws, seq)["seq"], seq);
  auto [again, saved] = kill_owner_and_rejoin(welcome, ada);
  EXPECT_EQ(saved, 8);
  EXPECT_EQ(again["last_seq"], 8);
  EXPECT_EQ(again["version"], 8);
}

TEST_F(ServeActors, APausedOwnerThatWakesAfterLosingItsLeaseAcceptsNothing) {
  start("checkpointed", 50);
  auto ada = logged_in(a_->port(), "ada");
  auto bob = logged_in(a_->port(), "bob");
  auto [ada_ws, welcome] = enter(a_->port(), ada, "r1");
  auto first = move(*ada_ws, 1);
  ASSERT_EQ(first["type"], "moved");
  for (int poll = 0; poll < 200 && saved_room("r1").last_seq("ada") < 1; ++poll) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // until the owner's checkpoint shows
  }
  ASSERT_EQ(saved_room("r1").last_seq("ada"), 1);
  ServeProcess& owner = by_port(owner_port(welcome));
  ServeProcess& next = other_than(owner.port());

  // Paused past its lease: the other server takes the room over (stopped outside a write to the
  // shared sqlite file, whose lock would otherwise stop every server's writes with it).
  ASSERT_TRUE(stop_outside_a_write(owner, dir_.path() / "rooms.db"));
  auto [bob_ws, taken_over] = enter(next.port(), bob, "r1");
  EXPECT_EQ(owner_port(taken_over), next.port());
  EXPECT_GT(generation(taken_over), generation(welcome));
  auto bobs = move(*bob_ws, 1, 7, 7);
  ASSERT_EQ(bobs["type"], "moved") << bobs.dump();

  owner.signal(SIGCONT);  // it wakes still holding ada's connection, and ada moves there
  ada_ws->send(json{{"type", "move"}, {"seq", 2}, {"x", 2}, {"y", 2}});
  std::vector<json> seen;
  EXPECT_EQ(ada_ws->wait_close(kHttpTimeout, &seen), 1012);  // owner_moved: reconnect
  for (auto const& m : seen) EXPECT_NE(m["type"], "moved") << "the woken owner accepted " << m.dump();
  // Two owners never overlapped: the old one's last accepted move precedes the new one's first.
  EXPECT_LT(first["at_us"].get<std::int64_t>(), bobs["at_us"].get<std::int64_t>());

  auto [ada_again, rejoined] = enter(next.port(), ada, "r1");
  EXPECT_EQ(rejoined["last_seq"], 1);  // her move 2 was accepted nowhere
  EXPECT_EQ(rejoined["version"], 2);   // ada's 1 and bob's 1
  EXPECT_EQ(rejoined["activation"], taken_over["activation"]);
}

TEST_F(ServeActors, ARoomWithoutPlayersIsCheckpointedReleasedAndPutToSleep) {
  start("checkpointed", 3'600'000, 300);  // no periodic checkpoint: only going to sleep saves it
  auto ada = logged_in(a_->port(), "ada");
  {
    auto [ws, welcome] = enter(a_->port(), ada, "r1");
    for (int seq = 1; seq <= 3; ++seq) ASSERT_EQ(move(*ws, seq)["seq"], seq);
  }  // ada leaves: the room idles
  std::optional<actors::Lease> lease{actors::Lease{}};
  for (int poll = 0; poll < 250 && lease; ++poll) {
    lease = in_store<std::optional<actors::Lease>>([](state::Store& store) { return actors::lease_of(store, "r1"); });
    if (lease) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // until the owner lets go
  }
  EXPECT_FALSE(lease) << "the idle room's lease was never released";
  EXPECT_EQ(saved_room("r1").last_seq("ada"), 3);  // saved on the way to sleep
  auto [ws, again] = enter(b_->port(), ada, "r1");  // any server may wake it now, at once
  EXPECT_EQ(again["last_seq"], 3);
}

TEST_F(ServeActors, BadInputIsRefusedWithAReason) {
  start("checkpointed", 100);
  auto ada = logged_in(a_->port(), "ada");
  EXPECT_EQ(refused_upgrade(a_->port(), {}, "/rooms/r1").status, 401);
  EXPECT_EQ(refused_upgrade(a_->port(), cookie_header(ada), "/rooms/bad.id").status, 400);
  auto closes_with = [&](std::string const& text) {
    auto [ws, welcome] = enter(a_->port(), ada, "r2");
    ws->send_text(text);
    return ws->wait_close();
  };
  {
    WsClient ws(a_->port(), cookie_header(ada), "/rooms/r3");
    EXPECT_EQ(move(ws, 1)["reason"], "not_in_room");  // a move before the join
    ws.send(json{{"type", "join"}, {"game", "chess"}});
    EXPECT_EQ(ws.wait_close(), 1003);  // unknown_game
  }
  EXPECT_EQ(closes_with("{not json"), 1007);
  EXPECT_EQ(closes_with(R"({"type":"dance"})"), 1003);
  EXPECT_EQ(closes_with(R"({"type":"move","seq":"one","x":1,"y":1})"), 1007);
  auto [ws, welcome] = enter(a_->port(), ada, "r2");
  EXPECT_EQ(move(*ws, 1, 16, 0)["reason"], "out_of_bounds");
  ws->send(json{{"type", "join"}});
  EXPECT_EQ(ws->next()["reason"], "already_joined");
  EXPECT_EQ(move(*ws, 1, 0, 0)["type"], "moved");  // still served
}

}  // namespace
}  // namespace outboard::testing
