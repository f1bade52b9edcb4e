#pragma once
// The redis feed's reader (redis:// and redis-cluster://): ONE connection per process, a
// PubSubLink (a thread and event loop of its own, as the near-cache's invalidation listener),
// whatever the number of rooms. It SUBSCRIBEs to
// rt:ROOM when a room's first watch() comes and UNSUBSCRIBEs at its last unwatch(), and hands
// each `message` push to FeedSink::entries (consecutive pushes of one room in one call).
//   - Each confirmed SUBSCRIBE of a watched room: FeedSink::watching(room) (memory and sqlite
//     hear a room from the moment watch() returns and never call it).
//   - The link dropped, or silent for longer than heartbeat + command timeout (a PING is sent
//     every heartbeat): it reconnects with backoff (50 ms doubling to 2 s), subscribes every
//     watched room again in one command and, once Redis confirmed them all, calls
//     FeedSink::resync() (also after the first connect: a watch made before it may have missed
//     entries). Channels are not per database in Redis: two deployments sharing a server (on two
//     databases) share their rooms' channels.
// Threads: watch/unwatch from any thread (a mutex and a post); the sink is only called on the
// reader's thread, so after stop() (which joins it) never again.
#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "state/feed.hpp"
#include "state/feed_watches.hpp"
#include "state/redis/pubsub_link.hpp"
#include "state/redis/redis_connection.hpp"

namespace outboard::state {

class RedisFeedReader {
 public:
  // `nodes`: where it may subscribe, one at a time, the next after each drop (a cluster's nodes).
  RedisFeedReader(std::vector<RedisEndpoint> nodes, core::Millis heartbeat);
  ~RedisFeedReader();
  RedisFeedReader(RedisFeedReader const&) = delete;
  RedisFeedReader& operator=(RedisFeedReader const&) = delete;

  // Connects (in the background) and starts the thread. Once only.
  void start(FeedSink& sink);
  void watch(std::string const& room);
  void unwatch(std::string const& room);
  // Stops the event loop and joins the thread. Idempotent.
  void stop();

 private:
  // The link's thread:
  void linked();
  void unlinked();
  void message(std::string const& channel, Reply& payload);
  void subscribed(std::string const& channel);
  void sync();
  void flush();

  FeedWatches watches_;
  // The link's thread only:
  FeedSink* sink_ = nullptr;
  std::set<std::string> subscribed_;  // rooms asked for on the live link
  // SUBSCRIBE confirmations still due for the rooms subscribed at connect; resync() when 0.
  std::size_t before_resync_ = 0;
  // Entries of the pushes read so far and not yet flushed, by room (consecutive pushes of one
  // room together).
  std::vector<std::pair<std::string, std::vector<FeedEntry>>> batch_;
  PubSubLink link_;  // declared last: stopped and joined before what its callbacks touch goes
};

}  // namespace outboard::state
