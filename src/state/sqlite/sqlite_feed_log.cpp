#include "state/sqlite/sqlite_feed_log.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace outboard::state {
namespace {

// feed_entries is a rowid table with AUTOINCREMENT, so an id is never reused even after the rows
// above it were trimmed: a reader's cursor can never see an old id again. The unique index serves
// read_after and the trim; the expiry indexes let the sweep find what to delete without a scan.
constexpr char const* kFeedSchema = R"sql(
CREATE TABLE IF NOT EXISTS feed_rooms(
  room BLOB NOT NULL PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS feed_rooms_by_expiry ON feed_rooms(expires_at);
CREATE TABLE IF NOT EXISTS feed_entries(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  room BLOB NOT NULL,
  seq INTEGER NOT NULL,
  body BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS feed_entries_by_room ON feed_entries(room, seq);
CREATE TABLE IF NOT EXISTS feed_dedupe(
  room BLOB NOT NULL,
  key BLOB NOT NULL,
  seq INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY(room, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_dedupe_by_expiry ON feed_dedupe(expires_at);
)sql";

constexpr std::string_view kSelectDedupe =
    "SELECT seq FROM feed_dedupe WHERE room = ?1 AND key = ?2 AND expires_at > ?3";
constexpr std::string_view kUpsertDedupe =
    "INSERT INTO feed_dedupe(room, key, seq, expires_at) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(room, key) DO UPDATE SET seq = excluded.seq, expires_at = excluded.expires_at";
constexpr std::string_view kSelectRoom = "SELECT last_seq, expires_at FROM feed_rooms WHERE room = ?1";
constexpr std::string_view kUpsertRoom =
    "INSERT INTO feed_rooms(room, last_seq, expires_at) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(room) DO UPDATE SET last_seq = excluded.last_seq, expires_at = excluded.expires_at";
constexpr std::string_view kInsertEntry = "INSERT INTO feed_entries(room, seq, body) VALUES(?1, ?2, ?3)";
constexpr std::string_view kTrimEntries = "DELETE FROM feed_entries WHERE room = ?1 AND seq <= ?2";
// The room's counter and its entries above `after` from one snapshot; one row with NULL entry
// columns when it has none, no row when the room is unknown or expired.
constexpr std::string_view kSelectHistory =
    "SELECT r.last_seq, e.seq, e.body FROM feed_rooms r "
    "LEFT JOIN feed_entries e ON e.room = r.room AND e.seq > ?2 "
    "WHERE r.room = ?1 AND r.expires_at > ?3 ORDER BY e.seq LIMIT ?4";
constexpr std::string_view kLastId = "SELECT COALESCE(MAX(id), 0) FROM feed_entries";
constexpr std::string_view kPoll =
    "SELECT id, room, seq, body FROM feed_entries WHERE id > ?1 ORDER BY id LIMIT ?2";
constexpr std::string_view kSweepEntries =
    "DELETE FROM feed_entries WHERE room IN "
    "(SELECT room FROM feed_rooms WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";
constexpr std::string_view kSweepRooms =
    "DELETE FROM feed_rooms WHERE room IN "
    "(SELECT room FROM feed_rooms WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";
constexpr std::string_view kSweepDedupe =
    "DELETE FROM feed_dedupe WHERE (room, key) IN "
    "(SELECT room, key FROM feed_dedupe WHERE expires_at <= ?1 LIMIT ?2)";

// Runs a statement that returns no rows, binding (index, value) pairs given as blobs or ints.
template <class Bind>
Result<void> run(SqliteConnection& c, std::string_view sql, Bind bind) {
  auto q = c.query(sql);
  if (!q) return q.error();
  bind(*q);
  return q->run();
}

// The room's counter as an append finds it: 0 when unknown or expired. An expired room's old
// entries are deleted first, so its new seqs (from 1 again) cannot collide with them.
Result<std::int64_t> current_seq(SqliteConnection& c, std::string const& room, std::int64_t now) {
  auto q = c.query(kSelectRoom);
  if (!q) return q.error();
  q->bind_blob(1, room);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::int64_t{0};
  if (q->column_int(1) > now) return q->column_int(0);
  if (auto r = run(c, kTrimEntries, [&](SqliteQuery& d) { d.bind_blob(1, room).bind_int(2, std::numeric_limits<std::int64_t>::max()); }); !r) {
    return r.error();
  }
  return std::int64_t{0};
}

}  // namespace

void create_feed_schema(SqliteConnection& connection) {
  auto created = in_write_transaction(connection, [&]() -> Result<void> { return connection.exec(kFeedSchema); });
  if (!created) {
    throw std::runtime_error("cannot use sqlite database '" + connection.path() +
                             "' for room feeds: " + created.error().context);
  }
}

SqliteFeedLog::SqliteFeedLog(core::Clock const& clock, FeedOptions const& options)
    : clock_(clock), options_(options) {
  options_.history = std::max<std::size_t>(options_.history, 1);
}

Result<Appended> SqliteFeedLog::append(SqliteConnection& c, std::string const& room, std::string const& body,
                                       std::string const& dedupe_key) const {
  std::int64_t const now = clock_.now_ms();
  bool const dedupe = options_.keep_history && !dedupe_key.empty();
  return in_write_transaction(c, [&]() -> Result<Appended> {
    if (dedupe) {
      auto q = c.query(kSelectDedupe);
      if (!q) return q.error();
      q->bind_blob(1, room).bind_blob(2, dedupe_key).bind_int(3, now);
      auto row = q->step();
      if (!row) return row.error();
      if (*row) return Appended{q->column_int(0), true};
    }
    auto last = current_seq(c, room, now);
    if (!last) return last.error();
    std::int64_t const seq = *last + 1;
    auto history = static_cast<std::int64_t>(options_.history);
    auto r = run(c, kUpsertRoom, [&](SqliteQuery& q) {
      q.bind_blob(1, room).bind_int(2, seq).bind_int(3, now + options_.history_ttl.count());
    });
    if (r) r = run(c, kInsertEntry, [&](SqliteQuery& q) { q.bind_blob(1, room).bind_int(2, seq).bind_blob(3, body); });
    if (r && seq > history) {
      r = run(c, kTrimEntries, [&](SqliteQuery& q) { q.bind_blob(1, room).bind_int(2, seq - history); });
    }
    if (r && dedupe) {
      r = run(c, kUpsertDedupe, [&](SqliteQuery& q) {
        q.bind_blob(1, room).bind_blob(2, dedupe_key).bind_int(3, seq).bind_int(4, now + options_.dedupe_ttl.count());
      });
    }
    if (!r) return r.error();
    return Appended{seq, false};
  });
}

Result<History> SqliteFeedLog::read_after(SqliteConnection& c, std::string const& room, std::int64_t after,
                                          std::size_t limit) const {
  after = std::max<std::int64_t>(after, 0);
  // One row more than asked when the limit is 0: the first held entry decides `truncated`.
  auto rows = static_cast<std::int64_t>(std::max<std::size_t>(limit, 1));
  if (!options_.keep_history) rows = 1;
  auto q = c.query(kSelectHistory);
  if (!q) return q.error();
  q->bind_blob(1, room).bind_int(2, after).bind_int(3, clock_.now_ms()).bind_int(4, rows);
  History out;
  std::optional<std::int64_t> first_held;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.last_seq = q->column_int(0);
    if (q->is_null(1) || !options_.keep_history) continue;
    if (!first_held) first_held = q->column_int(1);
    if (out.entries.size() < limit) out.entries.push_back(FeedEntry{q->column_int(1), q->column_blob(2)});
  }
  if (options_.keep_history) out.truncated = history_truncated(after, first_held, out.last_seq);
  return out;
}

Result<std::int64_t> SqliteFeedLog::last_id(SqliteConnection& c) const {
  auto q = c.query(kLastId);
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  return *row ? q->column_int(0) : 0;
}

Result<std::vector<PolledEntry>> SqliteFeedLog::poll(SqliteConnection& c, std::int64_t after,
                                                     std::int64_t limit) const {
  auto q = c.query(kPoll);
  if (!q) return q.error();
  q->bind_int(1, after).bind_int(2, limit);
  std::vector<PolledEntry> out;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(PolledEntry{q->column_int(0), q->column_blob(1), FeedEntry{q->column_int(2), q->column_blob(3)}});
  }
}

Result<void> SqliteFeedLog::sweep(SqliteConnection& c, std::int64_t limit) const {
  std::int64_t const now = clock_.now_ms();
  return in_write_transaction(c, [&]() -> Result<void> {
    auto bind = [&](SqliteQuery& q) { q.bind_int(1, now).bind_int(2, limit); };
    // Entries first: they are found through the rooms the next statement deletes.
    auto r = run(c, kSweepEntries, bind);
    if (r) r = run(c, kSweepRooms, bind);
    if (r) r = run(c, kSweepDedupe, bind);
    return r;
  });
}

}  // namespace outboard::state
