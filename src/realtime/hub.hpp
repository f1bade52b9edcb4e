#pragma once
// The rooms of one process. A Hub (one per process) owns the feed's reader and hears every new
// entry of every room some connection here has joined; a ThreadHub (one per worker thread) knows
// which of its thread's connections are in which room. The Hub hands a room's entries to each
// thread that has members in it (a post to that thread); the ThreadHub encodes each entry once
// and gives the frame to its members. A connection never leaves its thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"
#include "realtime/config.hpp"
#include "realtime/metrics.hpp"
#include "realtime/presence.hpp"
#include "state/feed.hpp"

namespace outboard::realtime {

class Connection;
class Hub;

// A room message ready to send: its seq and its `message` frame, shared by every member.
struct Frame {
  std::int64_t seq = 0;
  std::shared_ptr<std::string const> text;
};

class ThreadHub {
 public:
  ThreadHub(Hub& hub, boost::asio::any_io_executor executor, state::Store& presence_store, int shard);
  ~ThreadHub();
  ThreadHub(ThreadHub const&) = delete;
  ThreadHub& operator=(ThreadHub const&) = delete;

  // --- for connections, on this thread ---
  void add(Connection& connection);
  void remove(Connection& connection);
  void join(std::string const& room, Connection& connection);
  void leave(std::string const& room, Connection& connection);
  bool draining() const { return draining_; }

  state::Feed& feed() { return *feed_; }
  Presence& presence() { return presence_; }
  RealtimeConfig const& config() const;
  core::Clock const& clock() const;
  std::string const& instance() const;
  RealtimeMetrics::Shard& metrics() { return metrics_; }
  boost::asio::any_io_executor executor() const { return executor_; }
  // A fresh connection id, unique across instances (presence fields, logs).
  std::string next_connection_id();

  // --- from the Hub, always run on this thread ---
  void deliver(std::string const& room, std::vector<state::FeedEntry> const& entries);
  void recheck(std::string const& room);  // every member re-reads the room after its cursor
  void recheck_all();
  void drain();  // every connection gets 1001, and new ones are refused

 private:
  // Every third of the presence TTL, for ever: a coroutine whose timer lives in its frame, which
  // the worker's io_context destroys before this object goes (a timer member would outlive the
  // io_context's timer service).
  static boost::asio::awaitable<void> refresh_presence(ThreadHub& self);
  Hub& hub_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<state::Feed> feed_;
  Presence presence_;
  RealtimeMetrics::Shard& metrics_;
  std::unordered_map<std::string, std::unordered_set<Connection*>> rooms_;
  std::unordered_set<Connection*> connections_;
  std::string id_prefix_;
  std::uint64_t issued_ = 0;
  bool draining_ = false;
};

class Hub final : public state::FeedSink {
 public:
  // Opens the feed (throws std::invalid_argument for a URL without one); `threads` metric shards.
  Hub(RealtimeConfig config, state::StoreOptions const& store_options, core::Clock const& clock,
      std::string instance_id, int threads);
  ~Hub() override;

  void start();  // the feed's reader
  void stop();   // before the worker threads' event loops go: nothing is posted to them after
  void drain();  // every thread's connections get 1001

  RealtimeConfig const& config() const { return config_; }
  core::Clock const& clock() const { return clock_; }
  std::string const& instance() const { return instance_; }
  RealtimeMetrics& metrics() { return metrics_; }
  state::FeedProvider& feed() { return *feed_; }

  // A ThreadHub registers itself, and tells which rooms it has members in.
  void attach(ThreadHub& thread);
  void detach(ThreadHub& thread);
  void watch(std::string const& room, ThreadHub& thread);
  void unwatch(std::string const& room, ThreadHub& thread);

  // state::FeedSink, from the reader's thread (or an appending worker, for memory).
  void entries(std::string const& room, std::vector<state::FeedEntry> entries) override;
  void resync() override;
  void watching(std::string const& room) override;

 private:
  RealtimeConfig config_;
  core::Clock const& clock_;
  std::string instance_;
  RealtimeMetrics metrics_;
  std::unique_ptr<state::FeedProvider> feed_;
  std::mutex mutex_;  // guards threads_ and rooms_: the reader and every worker touch them
  std::vector<ThreadHub*> threads_;
  std::unordered_map<std::string, std::vector<ThreadHub*>> rooms_;  // a thread once per member count
  bool started_ = false;
};

}  // namespace outboard::realtime
