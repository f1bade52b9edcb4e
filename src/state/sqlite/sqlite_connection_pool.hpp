#pragma once
// The connections of one sqlite store (or feed): a fixed set, handed to pool threads one at a time.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/offload.hpp"
#include "state/sqlite/sqlite_db.hpp"

namespace outboard::state {

// The busy timeout is how long a statement waits for another connection's (or process's) lock.
// Locks are normally held for well under a millisecond, so the timeout is only reached when
// something is wrong; but sqlite's busy handler sleeps in growing steps (up to 100 ms), so a
// command_timeout tuned for redis round trips (tens of ms) would turn a short burst of writers
// into spurious 503s. Hence a floor of two seconds: an error that late is a real one.
inline constexpr Millis kMinBusyTimeout{2000};

// The busy timeout of the connections of a store or a feed with this command timeout.
inline Millis busy_timeout_for(Millis command_timeout) { return std::max(command_timeout, kMinBusyTimeout); }

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

  // Runs work(connection) on a thread of `threads` with a connection of its own, then resumes the
  // caller on its executor, through core::offload: the caller's work guard travels back with the
  // result and is released on the caller's thread, so the caller's io_context may be destroyed as
  // soon as the result is in (co_spawn onto the pool kept a copy of that executor on the pool
  // thread a moment longer: a use-after-free under ASan when a test's io_context went first).
  // Size `threads` to this pool's connections, so acquire() does not wait. The caller keeps this
  // pool alive until the call completes (the task refers to it by `this`) and joins `threads`
  // before the connections close.
  //
  // Deliberately not a coroutine itself: the lambda is only ever a parameter (g++ 12 destroys a
  // temporary lambda written inside a co_await expression twice; see core/offload.hpp).
  template <class F>
  auto run(boost::asio::thread_pool& threads, F work)
      -> boost::asio::awaitable<std::invoke_result_t<F&, SqliteConnection&>> {
    auto task = [this, work = std::move(work)]() mutable {
      auto connection = acquire();
      return work(*connection);
    };
    return core::offload(threads, std::move(task));
  }

 private:
  void release(std::unique_ptr<SqliteConnection> connection);

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<SqliteConnection>> free_;  // guarded by mutex_
};

}  // namespace outboard::state
