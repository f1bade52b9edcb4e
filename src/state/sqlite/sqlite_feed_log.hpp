#pragma once
// The sqlite room feed's SQL as plain synchronous functions over one connection, with no threads
// or executors involved: SqliteFeed runs append and read_after on its pool, the reader polls and
// sweeps on its own thread. Expiry is judged by the clock given here.
//
// Tables (created beside the store's, in the same file, by create_feed_schema):
//   feed_rooms(room PK, last_seq, expires_at): the counter; the room's log and counter are alive
//     while expires_at (clock ms) is in the future: history_ttl after the last append.
//   feed_entries(id AUTOINCREMENT, room, seq, body): the log, at most `history` rows per room;
//     `id` orders every append of every room, which is what the readers poll by.
//   feed_dedupe(room, key, seq, expires_at): dedupe keys, each alive for dedupe_ttl.
#include <cstdint>
#include <string>
#include <vector>

#include "state/feed.hpp"
#include "state/sqlite/sqlite_db.hpp"

namespace outboard::state {

// Creates the feed's tables if they do not exist (one BEGIN IMMEDIATE transaction, safe from
// several processes at once). They only add to the store's layout, which an older binary
// ignores, so the store's schema version stays as it is. Start-up only: throws
// std::runtime_error naming the file.
void create_feed_schema(SqliteConnection& connection);

// One row as the readers poll it.
struct PolledEntry {
  std::int64_t id = 0;
  std::string room;
  FeedEntry entry;
};

class SqliteFeedLog {
 public:
  // The clock must outlive the log; it is read from pool threads and the reader's.
  SqliteFeedLog(core::Clock const& clock, FeedOptions const& options);

  // One write transaction: dedupe check, seq = last + 1, insert, trim to `history`.
  // keep_history=false still inserts the row (it is how other processes' readers hear of the
  // append) and trims it the same way, but remembers no dedupe key and read_after returns none.
  Result<Appended> append(SqliteConnection& c, std::string const& room, std::string const& body,
                          std::string const& dedupe_key) const;
  // One SELECT, so counter and entries come from one snapshot.
  Result<History> read_after(SqliteConnection& c, std::string const& room, std::int64_t after,
                             std::size_t limit) const;

  // The newest id: where a reader that starts now begins.
  Result<std::int64_t> last_id(SqliteConnection& c) const;
  // Up to `limit` entries of every room with id > after, in id order (which is commit order:
  // writers are serialized, and ids only grow).
  Result<std::vector<PolledEntry>> poll(SqliteConnection& c, std::int64_t after, std::int64_t limit) const;
  // Deletes up to `limit` expired rooms (with their entries) and `limit` expired dedupe keys.
  // One write transaction; bounded by limit x history rows.
  Result<void> sweep(SqliteConnection& c, std::int64_t limit) const;

 private:
  core::Clock const& clock_;
  FeedOptions options_;
};

}  // namespace outboard::state
