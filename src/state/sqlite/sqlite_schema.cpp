#include "state/sqlite/sqlite_schema.hpp"

#include <stdexcept>
#include <thread>

namespace outboard::state {
namespace {

// One keyspace across types, as in Redis: `entries` says which keys exist, their type and TTL;
// hash fields and list items hang off their key. Keys, fields and values are BLOBs, so any bytes
// (NUL included) round-trip and compare bytewise.
//   entries.value: the string itself (type 1); NULL for a hash (2); for a list (3) its item count,
//                  which is also the last seq, since items are only ever appended.
//   entries.expires_at: ms since the epoch by StoreOptions::clock; NULL = never.
// entries stays a rowid table because string values may be large; the two child tables are
// WITHOUT ROWID (small rows, always read by a prefix of their primary key: one b-tree, no
// separate index). The partial index lets the sweep find expired keys without a table scan and
// costs nothing for keys without TTL.
constexpr char const* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS entries(
  key BLOB NOT NULL PRIMARY KEY,
  type INTEGER NOT NULL,
  value BLOB,
  expires_at INTEGER);
CREATE INDEX IF NOT EXISTS entries_by_expiry ON entries(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS hash_fields(
  key BLOB NOT NULL,
  field BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY(key, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS list_items(
  key BLOB NOT NULL,
  seq INTEGER NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY(key, seq)) WITHOUT ROWID;
)sql";

// The job queue (sqlite_job_queue.cpp): one row per job id ("<type>:<key>", bytes, compared
// bytewise, so equal times order by id as in a Redis sorted set).
//   state: 0 waiting, 1 running, 2 done, 3 dead. Times are ms since the epoch by
//   StoreOptions::clock: run_at (claimable from, when waiting; kept while running: the claim
//   order), lease_until (running), finished_at (done or dead: since when).
// Each index serves one question and holds only the rows of its state: the claim (waiting by
// type and run_at, id for ties; running by type and lease end), the sweep of done rows past
// done_ttl, the dead-letter list in order of death.
constexpr char const* kJobSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  id BLOB NOT NULL PRIMARY KEY,
  type BLOB NOT NULL,
  key BLOB NOT NULL,
  payload BLOB NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  fence INTEGER NOT NULL,
  last_error BLOB NOT NULL,
  run_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  worker BLOB NOT NULL,
  finished_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs(type, run_at, id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS jobs_running ON jobs(type, lease_until) WHERE state = 1;
CREATE INDEX IF NOT EXISTS jobs_done ON jobs(finished_at) WHERE state = 2;
CREATE INDEX IF NOT EXISTS jobs_dead ON jobs(finished_at, id) WHERE state = 3;
)sql";

// Bumped when the layout above changes incompatibly; an older binary refuses a newer file.
constexpr std::int64_t kSchemaVersion = 1;

[[noreturn]] void fail(SqliteConnection const& connection, std::string const& why) {
  throw std::runtime_error("cannot use sqlite database '" + connection.path() + "': " + why);
}

// Switching to WAL takes an exclusive lock for a moment; when several processes open a new file
// at once, the losers get SQLITE_BUSY, sometimes without the busy handler being consulted.
// Retried until the busy timeout, like BEGIN IMMEDIATE.
std::string set_wal(SqliteConnection& connection) {
  auto const deadline = std::chrono::steady_clock::now() + connection.busy_timeout();
  for (;;) {
    auto pragma = connection.query("PRAGMA journal_mode=WAL");
    if (!pragma) fail(connection, pragma.error().context);
    auto row = pragma->step();
    if (row && *row) return pragma->column_blob(0);
    if (row) fail(connection, "PRAGMA journal_mode returned nothing");
    if (row.error().code != core::Errc::timeout || std::chrono::steady_clock::now() >= deadline)
      fail(connection, row.error().context);
    std::this_thread::sleep_for(Millis(5));
  }
}

Result<std::int64_t> schema_version(SqliteConnection& connection) {
  auto pragma = connection.query("PRAGMA user_version");
  if (!pragma) return pragma.error();
  auto row = pragma->step();
  if (!row) return row.error();
  return *row ? pragma->column_int(0) : 0;
}

}  // namespace

void create_schema(SqliteConnection& connection) {
  // WAL lets readers proceed while one writer commits, across processes on this host (it needs
  // shared memory, so not across hosts on a network filesystem). The mode is stored in the file.
  if (std::string mode = set_wal(connection); mode != "wal")
    fail(connection, "journal_mode is '" + mode + "', WAL is required");
  auto created = in_write_transaction(connection, [&]() -> Result<void> {
    auto version = schema_version(connection);
    if (!version) return version.error();
    if (*version > kSchemaVersion) {
      return core::make_error(core::Errc::unavailable,
                              "schema version " + std::to_string(*version) +
                                  " is newer than this build understands (" +
                                  std::to_string(kSchemaVersion) + ")");
    }
    if (auto r = connection.exec(kSchema); !r) return r;
    if (*version == kSchemaVersion) return {};
    return connection.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  });
  if (!created) fail(connection, created.error().context);
}

void create_job_schema(SqliteConnection& connection) {
  auto created = in_write_transaction(connection, [&]() -> Result<void> { return connection.exec(kJobSchema); });
  if (!created) fail(connection, "job queue tables: " + created.error().context);
}

void configure_connection(SqliteConnection& connection) {
  // synchronous=NORMAL: in WAL mode a commit appends to the WAL without fsync; the WAL is synced
  // at checkpoints. The file can never be corrupted this way, and a crash of the process loses
  // nothing (the OS has the pages); only a power loss or kernel crash may roll back the last
  // commits. For sessions and carts that is worth the cost FULL would add: one fsync per write
  // (milliseconds on most disks, serialized across every process sharing the file).
  if (auto r = connection.exec("PRAGMA synchronous=NORMAL"); !r) fail(connection, r.error().context);
}

}  // namespace outboard::state
