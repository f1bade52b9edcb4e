#include "lab/sqlite_lock_probe.hpp"

#include <sqlite3.h>

#include <memory>

#include "lab/process_wait.hpp"

namespace outboard::lab {
namespace {

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Database = std::unique_ptr<sqlite3, CloseDatabase>;

// Opened read-write without creating: a probe must never make a database of its own.
Database open_existing(std::filesystem::path const& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database owned(db);  // a handle comes back even on failure, and must be closed
  if (rc != SQLITE_OK) return nullptr;
  sqlite3_busy_timeout(db, 0);  // a busy lock answers at once: any waiting is the caller's
  return owned;
}

}  // namespace

WriteLock try_sqlite_write_lock(std::filesystem::path const& database) {
  Database db = open_existing(database);
  if (!db) return WriteLock::unknown;
  int rc = sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    return WriteLock::free;
  }
  return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? WriteLock::held : WriteLock::unknown;
}

boost::asio::awaitable<WriteLock> probe_sqlite_write_lock(std::filesystem::path database,
                                                          std::chrono::milliseconds within,
                                                          std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    WriteLock lock = try_sqlite_write_lock(database);
    if (lock != WriteLock::held || std::chrono::steady_clock::now() >= deadline) co_return lock;
    co_await sleep_for(every);
  }
}

}  // namespace outboard::lab
