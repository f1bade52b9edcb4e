#pragma once
// What the store keeps of a room (docs/ACTORS.md): its owner's lease, the generation counter that
// fences it, the last checkpoint and the journal since. One room's keys share the hash tag
// `{room}` so a Redis Cluster keeps them on one slot and one commit_if can touch them all.
//
// Every write after the lease's is a commit_if on "the lease still holds my token": an owner
// whose lease expired (paused, partitioned) and was taken over cannot checkpoint, journal, renew
// or release any more, whatever it still believes. Free functions over a Store& the caller keeps
// alive; arguments by value (coroutines).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/store.hpp"

namespace outboard::actors {

struct RoomKeys {
  explicit RoomKeys(std::string_view room);
  std::string lease;       // "<member>/<generation>" with the lease's TTL
  std::string generation;  // a counter that only grows, never expires
  std::string state;       // the last checkpoint (PaintRoom::encode)
  std::string journal;     // moves accepted since the checkpoint, in order
};

// A lease as the store holds it. `token` is "<member>/<generation>": what every fenced write
// compares, and the activation's name in the protocol.
struct Lease {
  std::string member;
  std::int64_t generation = 0;
  std::string token;
};
std::optional<Lease> parse_lease(std::string_view token);

// The lease of `room`, or nullopt when nobody holds it.
state::Async<std::optional<Lease>> lease_of(state::Store& store, std::string room);
// Takes the lease for `member` when nobody holds it, with a new generation; nullopt when somebody
// else does (read lease_of to learn who).
state::Async<std::optional<Lease>> acquire_lease(state::Store& store, std::string room, std::string member,
                                                 core::Millis ttl);
// Each false when the lease no longer holds `token`.
state::Async<bool> renew_lease(state::Store& store, std::string room, std::string token, core::Millis ttl);
state::Async<bool> release_lease(state::Store& store, std::string room, std::string token);
// Saves `encoded` as the room's state and empties its journal, in one step.
state::Async<bool> save_checkpoint(state::Store& store, std::string room, std::string token, std::string encoded);
// Appends one accepted move to the journal.
state::Async<bool> append_journal(state::Store& store, std::string room, std::string token, std::string entry);

struct SavedRoom {
  std::optional<std::string> checkpoint;
  std::vector<std::string> journal;
};
// What a new owner starts from (read after taking the lease: nobody else may write it then).
state::Async<SavedRoom> load_room(state::Store& store, std::string room);

}  // namespace outboard::actors
