#pragma once
// A subscriber connection to Redis on a thread and event loop of its own: what the near-cache's
// invalidation listener and the room feed's reader share (one of each per process, whatever the
// number of worker threads, so neither waits for a busy worker).
//   - Connects (TCP_NODELAY), then sends AUTH (when a password is set) and the owner's hello
//     commands in one write; once each is answered without an error: linked(hello replies).
//   - Then hands each push to message() (["message", channel, payload]) or subscribed()
//     (["subscribe", channel, n]: Redis confirmed one channel), and read_done() after the pushes
//     of each read. Anything else (a PING's ["pong", ""], an UNSUBSCRIBE's confirmation) only
//     proves the link alive; an error reply drops it.
//   - A PING every heartbeat once linked (answered in subscribed mode too), and the link dropped
//     when nothing at all was heard for heartbeat + command timeout; that also bounds the connect
//     and the handshake. Without it a silent network (no RST) would leave the owner trusting a
//     link that no longer delivers.
//   - A linked link gone (dropped, silent, an error reply): unlinked(), before anything else runs
//     on the link's thread. Then it reconnects with backoff: 50 ms doubling to 2 s after attempts
//     that never got linked, 50 ms again after a link that did. Given several endpoints (a Redis
//     Cluster's nodes, where a PUBLISH on any node reaches subscribers on every node), each new
//     attempt goes to the next one, so a dead node is left at once.
// Threads: the callbacks run on the link's thread only, so after stop() (which joins it) never
// again. send() and live() only on that thread (from a callback or post()).
// Ownership: the owner holds it as its last member, so it is stopped before what its callbacks
// touch goes.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state {

class PubSubLink {
 public:
  struct Events {
    // Encoded commands (encode_command) sent right after AUTH in the same write, each answered
    // by exactly one reply: a SUBSCRIBE here names one channel.
    std::vector<std::string> hello;
    // The handshake is done; the hello replies, in order. False when they are not what the
    // owner needs: the attempt then counts as failed (no unlinked()). May send().
    std::function<bool(std::vector<Reply>& hello_replies)> linked;
    std::function<void()> unlinked;
    std::function<void(std::string const& channel, Reply& payload)> message;
    std::function<void(std::string const& channel)> subscribed = [](std::string const&) {};
    std::function<void()> read_done = [] {};
  };

  // `name` says which link a log line speaks of ("redis feed reader").
  PubSubLink(std::string name, RedisEndpoint endpoint, core::Millis heartbeat);
  // Several interchangeable endpoints, tried in turn (at least one).
  PubSubLink(std::string name, std::vector<RedisEndpoint> endpoints, core::Millis heartbeat);
  ~PubSubLink();  // stop()
  PubSubLink(PubSubLink const&) = delete;
  PubSubLink& operator=(PubSubLink const&) = delete;

  // Connects (in the background) and starts the thread. Once only: later calls, and calls after
  // stop(), do nothing (see started()).
  void start(Events events);
  bool started() const { return thread_.joinable() || io_.stopped(); }
  // Stops the event loop and joins the thread. Idempotent.
  void stop();

  // Any thread: runs `work` on the link's thread (never after stop(); before start(), once started).
  void post(std::function<void()> work);
  // Link thread: queues an encoded command on the live link; dropped when there is none (the
  // owner sends its state again from linked()).
  void send(std::string const& command);
  // Link thread: linked, and not yet seen to drop.
  bool live() const;

  // Link thread: the endpoint of the live link, or of the next attempt.
  RedisEndpoint const& endpoint() const { return endpoints_[current_]; }

  struct Link;  // one connection's life (pubsub_link.cpp)

 private:
  boost::asio::awaitable<void> reconnect_forever();
  boost::asio::awaitable<bool> serve(std::shared_ptr<Link> link);
  bool hand_over(Link& link);

  std::string name_;
  std::vector<RedisEndpoint> endpoints_;
  std::size_t current_ = 0;  // link thread only, after start()
  core::Millis heartbeat_;
  Events events_;
  // Declared before everything the link's thread touches: the sockets and timers of live_ and of
  // the coroutines' frames belong to it, so it must be destroyed last.
  boost::asio::io_context io_;
  std::shared_ptr<Link> live_;  // link thread only: the link once linked, until it drops
  std::thread thread_;
};

}  // namespace outboard::state
