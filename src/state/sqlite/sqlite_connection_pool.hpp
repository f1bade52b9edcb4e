#pragma once
// The connections of one sqlite store (or feed) and the threads its statements run on: a fixed
// set of connections, as many threads, each call leasing one connection for its run.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
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
  // Opens `size` connections, the first of which creates the schema, and starts `size` threads.
  // Start-up only: throws std::runtime_error naming the path when the file cannot be opened or
  // used.
  SqliteConnectionPool(std::string const& path, int size, Millis busy_timeout);
  // Lets queued calls finish (join()), then the connections close; the last close checkpoints
  // the WAL into the database file.
  ~SqliteConnectionPool() { join(); }
  SqliteConnectionPool(SqliteConnectionPool const&) = delete;
  SqliteConnectionPool& operator=(SqliteConnectionPool const&) = delete;

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

  // Blocks until a connection is free. There are as many threads as connections and calls come
  // from those threads, so in practice it never waits. Any thread.
  Lease acquire();

  // Runs work(connection) on one of the pool's threads with a connection of its own, then resumes the
  // caller on its executor, through core::offload: the caller's work guard travels back with the
  // result and is released on the caller's thread, so the caller's io_context may be destroyed as
  // soon as the result is in (co_spawn onto the pool kept a copy of that executor on the pool
  // thread a moment longer: a use-after-free under ASan when a test's io_context went first).
  // The caller keeps this pool alive until the call completes (the task refers to it by `this`).
  //
  // Deliberately not a coroutine itself: the lambda is only ever a parameter (g++ 12 destroys a
  // temporary lambda written inside a co_await expression twice; see core/offload.hpp).
  template <class F>
  auto run(F work) -> boost::asio::awaitable<std::invoke_result_t<F&, SqliteConnection&>> {
    auto task = [this, work = std::move(work)]() mutable {
      auto connection = acquire();
      return work(*connection);
    };
    return core::offload(threads_, std::move(task));
  }

  // Queues `job` (which acquires a connection itself) on the pool's threads; nobody waits for it.
  template <class F>
  void post(F job) {
    boost::asio::post(threads_, std::move(job));
  }

  // Waits for the queued calls and jobs to finish. Idempotent.
  void join() { threads_.join(); }

 private:
  void release(std::unique_ptr<SqliteConnection> connection);

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<SqliteConnection>> free_;  // guarded by mutex_
  boost::asio::thread_pool threads_;  // declared last: joined before the connections close
};

}  // namespace outboard::state
