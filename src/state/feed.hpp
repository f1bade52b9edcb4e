#pragma once
// Room feeds: the pub/sub capability beside the store (docs/REALTIME.md). A room is an
// append-only log: each entry gets the room's next sequence number (1, 2, 3...), the last
// `history` entries are kept for `history_ttl` after the room's last append, and every process
// that watches the room hears of new entries through ONE reader per process, whatever the number
// of rooms (never a connection per room).
//
// Backends, chosen by the same URL as the store:
//   memory://  in this process only (the anti-pattern: other processes never hear anything)
//   sqlite://  across the processes of one host: a table, polled by each process's reader
//   redis://   across hosts: a stream per room (bounded, with a TTL) and PUBLISH to the readers
//
// Delivery to a process is at-least-once-or-gap: the reader may repeat an entry, deliver entries
// out of order, or skip some (a reconnect, a busy moment). Receivers keep a cursor per room, drop
// what is at or below it and fill a gap with read_after(); that is what makes the feed resumable.
#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/store.hpp"

namespace outboard::state {

struct FeedEntry {
  std::int64_t seq = 0;  // the room's sequence number, from 1; only grows
  std::string body;      // opaque to the feed
};

struct Appended {
  std::int64_t seq = 0;
  // The dedupe key was already used in this room (within dedupe_ttl): nothing was written and
  // `seq` is the first append's.
  bool duplicate = false;
};

struct History {
  std::vector<FeedEntry> entries;  // seq > after, oldest first, at most `limit`
  std::int64_t last_seq = 0;       // the room's latest seq now (0: never written, or expired)
  // Entries after `after` existed but are no longer held (trimmed past `history`, or expired):
  // the first entry returned (or last_seq + 1 when none is) is above after + 1. Never set when
  // keep_history is false (there is no history to lose; callers know their design).
  bool truncated = false;
};

struct FeedOptions {
  std::size_t history = 1000;             // entries kept per room (>= 1)
  Millis history_ttl{24 * 3600 * 1000};   // a room's log and counter expire this long after its last append
  Millis dedupe_ttl{10 * 60 * 1000};      // how long a dedupe key is remembered
  // false: the `pubsub` design: no log and no dedupe, only live fan-out (seq is still counted, so
  // read_after returns no entries and last_seq).
  bool keep_history = true;
  Millis poll_interval{20};  // sqlite: how often each process's reader looks for new entries
};

// Per worker thread, like Store: every call is a coroutine on the caller's executor and returns
// Errc::unavailable / Errc::timeout when the backend cannot answer.
class Feed {
 public:
  virtual ~Feed() = default;
  // Appends `body` to `room` and tells every process watching it. A non-empty `dedupe_key` that
  // was already used in this room writes nothing and answers the first append's seq. Atomic:
  // two appends never get the same seq, in any number of processes.
  virtual Async<Appended> append(std::string room, std::string body, std::string dedupe_key) = 0;
  // The entries after `after` still held, oldest first, at most `limit` of them.
  virtual Async<History> read_after(std::string room, std::int64_t after, std::size_t limit) = 0;
};

// What the process's reader calls. May be called from any thread (the reader's own, or for
// memory the appending one), possibly concurrently; must not call back into the provider.
class FeedSink {
 public:
  virtual ~FeedSink() = default;
  // New entries of a watched room (see the delivery note at the top).
  virtual void entries(std::string const& room, std::vector<FeedEntry> entries) = 0;
  // The reader lost its link and has it back: entries may have been missed in any room.
  virtual void resync() = 0;
  // The reader now hears `room` (after a watch(): for redis once its SUBSCRIBE is confirmed;
  // backends that hear a room at once may call it from watch() or not at all). Entries appended
  // between watch() and this call may have been missed: receivers re-check their cursor.
  virtual void watching(std::string const& room) { (void)room; }
};

// One per process and URL.
class FeedProvider {
 public:
  virtual ~FeedProvider() = default;
  virtual std::string_view backend() const = 0;
  // Called once per worker thread, on that thread.
  virtual std::shared_ptr<Feed> feed_for(boost::asio::any_io_executor executor) = 0;
  // Starts the process's reader, which calls `sink` (it must outlive stop()).
  virtual void start(FeedSink& sink) = 0;
  // Any thread. The reader delivers a room's entries while it is watched; watches are counted
  // (two watch() need two unwatch()).
  virtual void watch(std::string const& room) = 0;
  virtual void unwatch(std::string const& room) = 0;
  // Stops the reader and joins its thread; the sink is not called after it returns.
  virtual void stop() = 0;
};

// The History::truncated rule, the same in every backend: `first_held` is the seq of the first
// entry still held above `after` (nullopt: none is), whatever read_after's limit.
inline bool history_truncated(std::int64_t after, std::optional<std::int64_t> first_held, std::int64_t last_seq) {
  return first_held.value_or(last_seq + 1) > after + 1;
}

// The feed that goes with a store URL (memory://, sqlite://..., redis://...). Throws
// std::invalid_argument for a URL that has no feed (start-up only). Does not connect.
std::unique_ptr<FeedProvider> open_feed(std::string_view url, StoreOptions const& store, FeedOptions const& options);

}  // namespace outboard::state
