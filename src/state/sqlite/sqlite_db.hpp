#pragma once
// A small RAII layer over the SQLite C API: one connection with its cache of prepared statements,
// a query handle that resets its statement when it goes out of scope, and a write transaction.
// Internal to the sqlite backend; nothing here is thread-safe: a connection is used by one pool
// thread at a time (SqliteConnectionPool hands it over under a mutex).
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace outboard::state {

using core::Error;
using core::Millis;
using core::Result;

// BUSY/LOCKED past the busy timeout -> Errc::timeout; misuse of the API -> Errc::internal;
// anything else (I/O, disk full, corrupt or read-only file) -> Errc::unavailable. The context
// carries what we were doing and sqlite's own message.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// One use of a cached prepared statement. Binds by index (1-based, as in "?1"); the destructor
// resets the statement and clears its bindings, so no read lock outlives the handle.
// Blobs are bound without copying (SQLITE_STATIC): the bound string must outlive the handle.
class SqliteQuery {
 public:
  SqliteQuery(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteQuery(SqliteQuery&& other) noexcept;
  SqliteQuery& operator=(SqliteQuery&&) = delete;
  SqliteQuery(SqliteQuery const&) = delete;
  ~SqliteQuery();

  SqliteQuery& bind_blob(int index, std::string_view bytes);
  SqliteQuery& bind_int(int index, std::int64_t value);
  SqliteQuery& bind_optional_int(int index, std::optional<std::int64_t> value);

  // True when a row is ready to read; false when the statement is done.
  Result<bool> step();
  // Steps a statement that returns no rows.
  Result<void> run();
  // Rows changed by the last run() on this connection.
  std::int64_t changes() const { return sqlite3_changes64(db_); }

  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::int64_t column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::optional<std::int64_t> column_optional_int(int column) const;
  std::string column_blob(int column) const;

 private:
  void check_bind(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;  // first failed bind, reported by step()
};

// Owns one sqlite3* and the statements prepared on it; closes both on destruction.
class SqliteConnection {
 public:
  // Opens (creating if needed) the file with the busy timeout set. Start-up only: throws
  // std::runtime_error naming the path and sqlite's message.
  SqliteConnection(std::string const& path, Millis busy_timeout);
  ~SqliteConnection();
  SqliteConnection(SqliteConnection const&) = delete;
  SqliteConnection& operator=(SqliteConnection const&) = delete;

  // A handle on the cached statement for `sql`, prepared on first use. Cost after the first
  // call: one hash lookup of the SQL text.
  Result<SqliteQuery> query(std::string_view sql);
  // Runs statements without caching them (pragmas, schema).
  Result<void> exec(char const* sql);

  Error error(int rc, std::string_view what) const { return sqlite_error(db_, rc, what); }
  Millis busy_timeout() const { return busy_timeout_; }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  std::string const& path() const { return path_; }

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };

  std::string path_;
  Millis busy_timeout_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> statements_;
};

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the database's write lock up front, so a
// read-modify-write inside cannot be interleaved with another process's write (and cannot fail
// half-way with SQLITE_BUSY_SNAPSHOT, as a deferred transaction upgrading to a writer can).
// The destructor rolls back a transaction that was not committed.
class SqliteTransaction {
 public:
  // Waits for the write lock up to the connection's busy timeout; Errc::timeout past it.
  static Result<SqliteTransaction> begin_immediate(SqliteConnection& connection);
  SqliteTransaction(SqliteTransaction&& other) noexcept : connection_(other.connection_) {
    other.connection_ = nullptr;
  }
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  Result<void> commit();

 private:
  explicit SqliteTransaction(SqliteConnection& connection) : connection_(&connection) {}
  SqliteConnection* connection_;  // null once committed, rolled back or moved from
};

// Runs `body` (returning Result<T>) inside one write transaction: committed when it succeeds,
// rolled back when it returns an error. Runs on the calling (pool) thread.
template <class F>
auto in_write_transaction(SqliteConnection& connection, F&& body) -> decltype(body()) {
  auto txn = SqliteTransaction::begin_immediate(connection);
  if (!txn) return txn.error();
  auto result = body();
  if (!result) return result;  // ~SqliteTransaction rolls back
  if (auto committed = txn->commit(); !committed) return committed.error();
  return result;
}

}  // namespace outboard::state
