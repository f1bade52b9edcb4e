#pragma once
// The near-cache's invalidation connection: one per process (per redis store URL with a
// near-cache), a PubSubLink (a thread and event loop of its own). It asks CLIENT ID, subscribes to
// __redis__:invalidate and then tells the NearCache:
//   - subscribed: linked(id), and data connections redirect their tracking to that id;
//   - a message: invalidate(key) for each key, invalidate_all() for a null payload (FLUSHALL);
//   - the connection dropped, or silent for longer than heartbeat + command timeout (a PING is
//     sent every heartbeat): unlinked(), a flush; then it reconnects with backoff.
// Ownership: the owner (the redis provider) destroys it before the cache; the destructor stops
// the thread and joins it.
#include <memory>
#include <vector>

#include "state/redis/near_cache.hpp"
#include "state/redis/pubsub_link.hpp"
#include "state/redis/redis_connection.hpp"

namespace outboard::state {

class InvalidationListener {
 public:
  InvalidationListener(RedisEndpoint endpoint, std::shared_ptr<NearCache> cache, core::Millis heartbeat);
  InvalidationListener(InvalidationListener const&) = delete;
  InvalidationListener& operator=(InvalidationListener const&) = delete;

 private:
  // The link's thread:
  bool linked(std::vector<Reply> const& hello_replies);
  void unlinked();
  void invalidate(Reply const& payload);

  std::shared_ptr<NearCache> cache_;
  PubSubLink link_;  // declared last: stopped and joined before cache_ goes
};

}  // namespace outboard::state
