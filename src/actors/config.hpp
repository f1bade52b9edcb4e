#pragma once
// serve's [actors] section (docs/ACTORS.md, docs/CONFIG keys actors.*).
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace outboard::actors {

enum class Mode {
  local,         // each server keeps the rooms it is asked for in its own memory: no lease, no
                 // checkpoint, no forwarding (the anti-pattern the lab shows failing)
  checkpointed,  // one owner under a fenced lease; state checkpointed every checkpoint_interval
  journaled,     // as checkpointed, and every move journaled before it is acknowledged
};
std::string_view to_string(Mode mode);

struct ActorsConfig {
  Mode mode = Mode::checkpointed;
  // "host:port" the other servers forward a room's players to (and that placement hashes): the
  // address this server is known by to its peers and its gateway. Required with a lease.
  std::string advertise;  // set by serve from its listen address unless configured
  core::Millis lease_ttl{3000};
  core::Millis heartbeat{1000};  // membership renewals and the lease/checkpoint tick
  core::Millis checkpoint_interval{2000};
  core::Millis idle_timeout{30'000};  // a room with no player for this long is put to sleep
  int messages_per_second = 50;       // per connection
  std::vector<std::string> allowed_origins;  // Origins besides the request's own host
};

}  // namespace outboard::actors
