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
#include <string>
#include <thread>
#include <vector>

#include "actors/actor_host.hpp"
#include "actors/room_records.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::actors {
namespace {

TEST(ActorHost, PlayersArrivingAtOnceForAFreeRoomShareOneActivation) {
  testing::TempDir dir;
  core::SystemClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  auto provider = state::open_store("sqlite://" + (dir.path() / "rooms.db").string(), options);
  ActorsConfig config;
  config.advertise = "127.0.0.1:1";
  ActorHost host(config, *provider, clock, "test");
  host.start();

  boost::asio::io_context io;
  std::vector<std::future<Located>> arrivals;
  for (int i = 0; i < 4; ++i) arrivals.push_back(boost::asio::co_spawn(io, host.locate("r1", false), boost::asio::use_future));
  for (auto& arrival : arrivals) {
    testing::run_until_ready(io, arrival);
    auto where = arrival.get();
    EXPECT_EQ(where.kind, Located::Kind::here) << where.reason;
  }
  EXPECT_EQ(host.metrics().activations.load(), 1u);
  auto store = provider->store_for(io.get_executor());
  auto lease = testing::run_coro(io, lease_of(*store, "r1"));
  ASSERT_TRUE(lease && *lease);
  EXPECT_EQ((*lease)->member, host.member_id());
  EXPECT_EQ((*lease)->generation, 1) << "a second activation took the lease over";
  host.stop();
}

TEST(ActorHost, RoomsGoingIdleInOneTickAreAllPutToSleep) {
  testing::TempDir dir;
  core::SystemClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  auto provider = state::open_store("sqlite://" + (dir.path() / "rooms.db").string(), options);
  ActorsConfig config;
  config.advertise = "127.0.0.1:1";
  config.heartbeat = core::Millis(20);
  config.idle_timeout = core::Millis(1);  // idle at their first tick: no player ever joins
  ActorHost host(config, *provider, clock, "test");
  host.start();

  boost::asio::io_context io;
  constexpr int kRooms = 12;
  std::vector<std::future<Located>> arrivals;
  for (int i = 0; i < kRooms; ++i) {
    arrivals.push_back(boost::asio::co_spawn(io, host.locate("r" + std::to_string(i), false), boost::asio::use_future));
  }
  for (auto& arrival : arrivals) {
    testing::run_until_ready(io, arrival);
    ASSERT_EQ(arrival.get().kind, Located::Kind::here);
  }
  for (int poll = 0; poll < 500 && host.metrics().deactivations.load() < kRooms; ++poll) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // until every room is asleep
  }
  EXPECT_EQ(host.metrics().deactivations.load(), std::uint64_t{kRooms});
  EXPECT_EQ(host.metrics().active.load(), 0);
  auto store = provider->store_for(io.get_executor());
  for (int i = 0; i < kRooms; ++i) {
    auto lease = testing::run_coro(io, lease_of(*store, "r" + std::to_string(i)));
    ASSERT_TRUE(lease);
    EXPECT_FALSE(*lease) << "room r" << i << " is still held";
  }
  host.stop();
}

}  // namespace
}  // namespace outboard::actors
