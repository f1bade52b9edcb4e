// The actor host on a real SQLite file, in-process: several players arriving at once for a room
// nobody holds share one activation (found by bench/actors: the second activation released the
// first one's lease as if it were a stale one of its own), and rooms going idle in one tick are
// all put to sleep (found by CI: the tick erased a room from the map it was iterating).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor_host.hpp"
#include "actors/room_records.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::actors {
namespace {

// A SQLite file, an io_context for the test's own calls, and the host's configuration.
struct HostOnSqlite {
  HostOnSqlite() {
    state::StoreOptions options;
    options.clock = &clock;
    provider = state::open_store("sqlite://" + (dir.path() / "rooms.db").string(), options);
    config.advertise = "127.0.0.1:1";
  }
  // Whoever holds `room`'s lease now, read from the store.
  std::optional<Lease> lease(std::string const& room) {
    auto store = provider->store_for(io.get_executor());
    auto held = testing::run_coro(io, lease_of(*store, room));
    if (!held) throw std::runtime_error(held.error().context);
    return *held;
  }
  // Locates each room once (the calls race, as players arriving at once do); returns the answers.
  std::vector<Located> locate_all(ActorHost& host, std::vector<std::string> const& rooms) {
    std::vector<std::future<Located>> arrivals;
    for (auto const& room : rooms) arrivals.push_back(boost::asio::co_spawn(io, host.locate(room, false), boost::asio::use_future));
    std::vector<Located> answers;
    for (auto& arrival : arrivals) {
      testing::run_until_ready(io, arrival);
      answers.push_back(arrival.get());
    }
    return answers;
  }

  testing::TempDir dir;
  core::SystemClock clock;
  std::unique_ptr<state::StoreProvider> provider;
  ActorsConfig config;
  boost::asio::io_context io;
};

TEST(ActorHost, PlayersArrivingAtOnceForAFreeRoomShareOneActivation) {
  HostOnSqlite setup;
  ActorHost host(setup.config, *setup.provider, setup.clock, "test");
  host.start();
  for (auto const& where : setup.locate_all(host, {"r1", "r1", "r1", "r1"})) {
    EXPECT_EQ(where.kind, Located::Kind::here) << where.reason;
  }
  EXPECT_EQ(host.metrics().activations.load(), 1u);
  auto lease = setup.lease("r1");
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->member, host.member_id());
  EXPECT_EQ(lease->generation, 1) << "a second activation took the lease over";
  host.stop();
}

TEST(ActorHost, RoomsGoingIdleInOneTickAreAllPutToSleep) {
  HostOnSqlite setup;
  setup.config.heartbeat = core::Millis(20);
  setup.config.idle_timeout = core::Millis(1);  // idle at their first tick: no player ever joins
  ActorHost host(setup.config, *setup.provider, setup.clock, "test");
  host.start();
  std::vector<std::string> rooms;
  for (int i = 0; i < 12; ++i) rooms.push_back("r" + std::to_string(i));
  for (auto const& where : setup.locate_all(host, rooms)) ASSERT_EQ(where.kind, Located::Kind::here) << where.reason;
  for (int poll = 0; poll < 500 && host.metrics().deactivations.load() < rooms.size(); ++poll) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // until every room is asleep
  }
  EXPECT_EQ(host.metrics().deactivations.load(), rooms.size());
  EXPECT_EQ(host.metrics().active.load(), 0);
  for (auto const& room : rooms) EXPECT_FALSE(setup.lease(room)) << room << " is still held";
  host.stop();
}

}  // namespace
}  // namespace outboard::actors
