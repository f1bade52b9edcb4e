#pragma once
// The redis feed's reader: ONE connection per process, on a thread and event loop of its own
// (after the near-cache's invalidation listener), whatever the number of rooms. It SUBSCRIBEs to
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
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>

#include "state/feed.hpp"
#include "state/feed_watches.hpp"
#include "state/redis/redis_connection.hpp"

namespace outboard::state {

class RedisFeedReader {
 public:
  RedisFeedReader(RedisEndpoint endpoint, core::Millis heartbeat);
  ~RedisFeedReader();
  RedisFeedReader(RedisFeedReader const&) = delete;
  RedisFeedReader& operator=(RedisFeedReader const&) = delete;

  // Connects (in the background) and starts the thread. Once only.
  void start(FeedSink& sink);
  void watch(std::string const& room);
  void unwatch(std::string const& room);
  // Stops the event loop and joins the thread. Idempotent.
  void stop();

  struct Link;  // one connection's life (redis_feed_reader.cpp)

 private:
  boost::asio::awaitable<void> listen();
  boost::asio::awaitable<bool> serve_link(std::shared_ptr<Link> link);
  void subscribe_all(Link& link);
  void sync();
  struct Batch;  // entries parsed from one read, by room
  void handle(Link& link, Reply& reply, Batch& batch);
  void flush(Batch& batch);

  RedisEndpoint endpoint_;
  core::Millis heartbeat_;
  // Declared before everything the reader thread touches: the sockets and timers of link_ and of
  // the coroutines' frames belong to it, so it must be destroyed last.
  boost::asio::io_context io_;
  FeedWatches watches_;
  // Reader thread only:
  FeedSink* sink_ = nullptr;
  std::shared_ptr<Link> link_;        // the live link, once its handshake is done
  std::set<std::string> subscribed_;  // rooms asked for on link_
  std::thread thread_;
};

}  // namespace outboard::state
