#include "state/sqlite/sqlite_db.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace outboard::state {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  core::Errc code = core::Errc::unavailable;
  switch (rc & 0xff) {  // the primary code; extended codes only refine it
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = core::Errc::timeout;
      break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_CONSTRAINT:
      code = core::Errc::internal;  // our SQL or schema is wrong, not the disk
      break;
    default:
      break;
  }
  std::string context = "sqlite";
  if (char const* file = db ? sqlite3_db_filename(db, "main") : nullptr; file && *file) {
    context += " ";
    context += file;
  }
  context += ": ";
  context += what;
  context += ": ";
  // errmsg describes the last call on this connection; errstr is the generic text for rc.
  context += db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return core::make_error(code, std::move(context));
}

// --- SqliteQuery ---

SqliteQuery::SqliteQuery(SqliteQuery&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

SqliteQuery::~SqliteQuery() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);  // ends the statement's implicit read, if it was left mid-rows
  sqlite3_clear_bindings(stmt_);  // drops pointers into the caller's strings
}

void SqliteQuery::check_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

SqliteQuery& SqliteQuery::bind_blob(int index, std::string_view bytes) {
  // A null pointer would bind SQL NULL, not an empty blob. nullptr as destructor is
  // SQLITE_STATIC (the macro is an old-style cast): sqlite reads the caller's bytes in place.
  char const* data = bytes.empty() ? "" : bytes.data();
  check_bind(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), nullptr));
  return *this;
}

SqliteQuery& SqliteQuery::bind_int(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

SqliteQuery& SqliteQuery::bind_optional_int(int index, std::optional<std::int64_t> value) {
  check_bind(value ? sqlite3_bind_int64(stmt_, index, *value) : sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> SqliteQuery::step() {
  if (bind_rc_ != SQLITE_OK) return sqlite_error(db_, bind_rc_, "binding parameters");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, sqlite3_sql(stmt_));
}

Result<void> SqliteQuery::run() {
  auto r = step();
  if (!r) return r.error();
  return {};
}

std::optional<std::int64_t> SqliteQuery::column_optional_int(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int(column);
}

std::string SqliteQuery::column_blob(int column) const {
  // Order matters: _blob converts the value first, then _bytes gives its size.
  auto const* data = static_cast<char const*>(sqlite3_column_blob(stmt_, column));
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return data ? std::string(data, size) : std::string();
}

// --- SqliteConnection ---

SqliteConnection::SqliteConnection(std::string const& path, Millis busy_timeout)
    : path_(path), busy_timeout_(busy_timeout) {
  // NOMUTEX: sqlite skips its per-connection mutex; the pool guarantees one thread at a time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);  // a handle is returned even on failure; closing null is a no-op
    db_ = nullptr;
    throw std::runtime_error("cannot open sqlite database '" + path + "': " + message);
  }
  // Waits inside sqlite (sleeping with back-off) while another connection holds a lock.
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
}

SqliteConnection::~SqliteConnection() {
  statements_.clear();  // every statement must be finalized before the close succeeds
  sqlite3_close(db_);
}

Result<SqliteQuery> SqliteConnection::query(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    // PERSISTENT: the statement lives as long as the connection, so sqlite allocates it for that.
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc, "preparing " + std::string(sql));
    it = statements_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, Finalize>(stmt)).first;
  }
  return SqliteQuery(db_, it->second.get());
}

Result<void> SqliteConnection::exec(char const* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return {};
}

// --- SqliteTransaction ---

Result<SqliteTransaction> SqliteTransaction::begin_immediate(SqliteConnection& connection) {
  // sqlite's busy handler normally does the waiting and gives up at the busy timeout. It is not
  // consulted in every case (e.g. while another connection recovers the WAL index), so a BUSY
  // that comes back early is retried here, with a short back-off, until the same deadline.
  auto const deadline = std::chrono::steady_clock::now() + connection.busy_timeout();
  for (int attempt = 0;; ++attempt) {
    auto begin = connection.query("BEGIN IMMEDIATE");
    if (!begin) return begin.error();
    auto started = begin->run();
    if (started) return SqliteTransaction(connection);
    auto now = std::chrono::steady_clock::now();
    if (started.error().code != core::Errc::timeout || now >= deadline) return started.error();
    auto pause = std::min<std::chrono::steady_clock::duration>(Millis(1 << std::min(attempt, 5)),
                                                               deadline - now);
    std::this_thread::sleep_for(pause);
  }
}

SqliteTransaction::~SqliteTransaction() {
  if (!connection_) return;
  // Some errors (I/O, BUSY in a commit) already rolled back; a second ROLLBACK only fails.
  if (connection_->in_transaction()) {
    if (auto rollback = connection_->query("ROLLBACK")) (void)rollback->run();
  }
}

Result<void> SqliteTransaction::commit() {
  auto commit = connection_->query("COMMIT");
  if (!commit) return commit.error();
  if (auto done = commit->run(); !done) return done.error();
  connection_ = nullptr;
  return {};
}

}  // namespace outboard::state
