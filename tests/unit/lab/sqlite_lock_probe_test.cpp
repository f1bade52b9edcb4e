// The probe a hang asks whether its frozen server kept the embedded store's write lock
// (lab/sqlite_lock_probe.hpp): held while another connection is inside a write transaction, free
// once it ends, and unknown for a file that is not there (the probe never creates one).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <memory>

#include "lab/sqlite_lock_probe.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::lab {
namespace {

using namespace std::chrono_literals;
using testing::run_coro;

struct CloseHolder {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

// A connection to `path` in WAL mode (as the store opens it), with one table.
std::unique_ptr<sqlite3, CloseHolder> open_holder(std::filesystem::path const& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::unique_ptr<sqlite3, CloseHolder> owned(db);
  EXPECT_EQ(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  return owned;
}

WriteLock probe(std::filesystem::path const& path) {
  boost::asio::io_context io;
  return run_coro(io, probe_sqlite_write_lock(path, 100ms, 10ms));
}

TEST(SqliteLockProbe, AWriteTransactionInProgressHoldsTheLockAndItsEndFreesIt) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  auto holder = open_holder(path);
  ASSERT_EQ(sqlite3_exec(holder.get(), "BEGIN IMMEDIATE; INSERT INTO t VALUES (1)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(probe(path), WriteLock::held);
  ASSERT_EQ(sqlite3_exec(holder.get(), "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(probe(path), WriteLock::free);
  // The probe's own transaction was rolled back, and the lock is free for the holder again.
  EXPECT_EQ(sqlite3_exec(holder.get(), "BEGIN IMMEDIATE; ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
}

TEST(SqliteLockProbe, AMissingFileIsUnknownAndNotCreated) {
  testing::TempDir dir;
  auto path = dir / "absent.db";
  EXPECT_EQ(probe(path), WriteLock::unknown);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace outboard::lab
