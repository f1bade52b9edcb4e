#pragma once
// What `[realtime]` in serve's config sets (docs/REALTIME.md, "Limits and settings").
#include <cstddef>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "realtime/protocol.hpp"
#include "state/feed.hpp"

namespace outboard::realtime {

struct RealtimeConfig {
  std::string feed_url;   // where rooms live (a store URL); serve defaults it to the data store's
  state::FeedOptions feed;  // history, its TTL, dedupe; keep_history false is the `pubsub` design
  Limits limits;          // per connection: message and text size, rate, rooms
  std::size_t outbound_queue = 256;   // messages waiting to be written to one client; beyond: 1008
  core::Millis idle_timeout{60'000};  // silence before a ping; as long again without an answer closes
  core::Millis close_grace{2'000};    // the wait for a close handshake (and for a stuck write on a cut)
  core::Millis presence_ttl{15'000};  // a member not refreshed this long is gone (refreshed every third)
  // Origins (exact "scheme://host[:port]") allowed to open /ws besides the request's own host.
  std::vector<std::string> allowed_origins;
};

}  // namespace outboard::realtime
