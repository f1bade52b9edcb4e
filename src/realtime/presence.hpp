#pragma once
// Who is in a room, kept in the store so every instance sees it: the hash `presence:{ROOM}`,
// one field per connection, its value "<expiry ms>:<user>". Each worker thread refreshes its own
// connections' fields every third of the TTL in one write per room; a member whose field was not
// refreshed in time is gone, so a server that dies takes its users out of every room within one
// TTL without anyone cleaning up after it (readers skip and remove stale fields).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "state/store.hpp"

namespace outboard::realtime {

// One worker thread's members, by room and connection id.
class Presence {
 public:
  Presence(state::Store& store, core::Clock const& clock, core::Millis ttl) : store_(store), clock_(clock), ttl_(ttl) {}

  // Recorded at once (the joiner shows up without waiting for a heartbeat).
  state::Async<void> enter(std::string room, std::string connection, std::string user);
  state::Async<void> leave(std::string room, std::string connection);
  // Rewrites every member of this thread with a fresh expiry: one write per room.
  state::Async<void> refresh();
  // The users present in a room now, sorted and unique (across every instance).
  state::Async<std::vector<std::string>> members(std::string room);

  static std::string key(std::string_view room) { return "presence:{" + std::string(room) + "}"; }
  // "<expiry>:<user>" -> the user when the expiry is after `now_ms`, else nullopt (also malformed).
  static std::optional<std::string> live_user(std::string_view value, std::int64_t now_ms);

 private:
  std::string value_for(std::string const& user) const;
  state::Store& store_;
  core::Clock const& clock_;
  core::Millis ttl_;
  std::map<std::string, std::map<std::string, std::string>> local_;  // room -> connection -> user
};

}  // namespace outboard::realtime
