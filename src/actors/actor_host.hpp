#pragma once
// The game rooms of one process (docs/ACTORS.md), each an actor: active on one server at a time,
// fed one message at a time, put to sleep when idle. All of them live on one thread of the
// host's own (its event loop and its own store connection), as the job runner does; connections
// on the worker threads call in through locate/join/move, which hop onto that thread and resume
// their caller on its own.
//
// With a lease (checkpointed, journaled), a room is active only where its lease is held: the
// owner renews the lease every heartbeat and accepts a move only while its own clock says the
// lease still holds (it stops short of the store's TTL, so a paused owner that wakes stops
// first and asks the store); every write it makes is fenced by the lease's token.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "actors/config.hpp"
#include "actors/metrics.hpp"
#include "actors/paint_room.hpp"
#include "state/store.hpp"

namespace outboard::actors {

// One player's connection as a room sees it. Called on the host's thread; implementations post
// to their own.
class Seat {
 public:
  virtual ~Seat() = default;
  virtual void deliver(std::shared_ptr<std::string const> frame) = 0;
  // The room is no longer served here: close with `code` (1001 drain, 1012 owner moved) and `reason`.
  virtual void evict(std::uint16_t code, std::string reason) = 0;
};

// Where a room's players are served.
struct Located {
  enum class Kind { here, forward, unavailable } kind = Kind::unavailable;
  std::string address;  // forward: the owner's "host:port"
  std::string reason;   // unavailable: "owner_unavailable", "store_unavailable", "draining", "owner_moved"
};

enum class Outcome {
  accepted,     // a join welcomed (the welcome is delivered to the seat) or a move broadcast
  refused,      // by the room's rules: `refusal`
  moved,        // the room is no longer active here: reconnect
  unavailable,  // the store could not confirm the lease or journal the move: not accepted
};
struct TurnResult {
  Outcome outcome = Outcome::accepted;
  Refusal refusal = Refusal::not_in_room;
  std::int64_t expected = 0;  // out_of_order: the seq the room wants
};

class ActorHost {
 public:
  // `store` must outlive the host; `instance` names this server in activations.
  ActorHost(ActorsConfig config, state::StoreProvider& store, core::Clock const& clock, std::string instance);
  ~ActorHost();
  ActorHost(ActorHost const&) = delete;
  ActorHost& operator=(ActorHost const&) = delete;

  void start();
  // Checkpoints and releases every room (players get 1001), leaves the membership, stops the
  // thread. Blocks; any thread but the host's. Idempotent.
  void stop();

  // Any worker thread. `forwarded`: the request came from another server, which must not be
  // sent back: take the room here if its lease is free.
  boost::asio::awaitable<Located> locate(std::string room, bool forwarded);
  boost::asio::awaitable<TurnResult> join(std::string room, std::string player, std::shared_ptr<Seat> seat);
  boost::asio::awaitable<TurnResult> move(std::string room, std::string player, Move move);
  void leave(std::string room, std::shared_ptr<Seat> seat);

  ActorsConfig const& config() const;
  ActorMetrics& metrics() { return metrics_; }
  std::string const& member_id() const { return member_id_; }

 private:
  class Loop;
  ActorMetrics metrics_;
  std::string member_id_;
  std::shared_ptr<Loop> loop_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace outboard::actors
