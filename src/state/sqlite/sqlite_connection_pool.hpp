#pragma once
// The connections of one sqlite store: a fixed set, handed to pool threads one at a time.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "state/sqlite/sqlite_db.hpp"

namespace outboard::state {

class SqliteConnectionPool {
 public:
  // Opens `size` connections, the first of which creates the schema. Start-up only: throws
  // std::runtime_error naming the path when the file cannot be opened or used.
  SqliteConnectionPool(std::string const& path, int size, Millis busy_timeout);

  // A connection on loan; goes back to the free list when the lease ends.
  class Lease {
   public:
    Lease(SqliteConnectionPool& pool, std::unique_ptr<SqliteConnection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->release(std::move(connection_));
    }
    SqliteConnection& operator*() const { return *connection_; }
    SqliteConnection* operator->() const { return connection_.get(); }

   private:
    SqliteConnectionPool* pool_;
    std::unique_ptr<SqliteConnection> connection_;
  };

  // Blocks until a connection is free. The store sizes the pool to its thread count and only
  // calls this from those threads, so in practice it never waits. Any thread.
  Lease acquire();

 private:
  void release(std::unique_ptr<SqliteConnection> connection);

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<SqliteConnection>> free_;  // guarded by mutex_
};

}  // namespace outboard::state
