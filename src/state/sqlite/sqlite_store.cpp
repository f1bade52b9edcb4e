#include "state/sqlite/sqlite_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <type_traits>

#include "state/sqlite/sqlite_connection_pool.hpp"
#include "state/sqlite/sqlite_keyspace.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;

// Every kKeySweepEvery writes, one pool job deletes up to kKeySweepBatch keys that expired without
// being touched again. Cost: one small write transaction per thousand writes.
constexpr std::uint32_t kKeySweepEvery = 1024;
constexpr std::int64_t kKeySweepBatch = 256;

// Owns the thread pool and the connections; statements run only on pool threads, never on the
// caller's event loop, and each call resumes the caller's coroutine on its own executor.
// Shared by every worker thread of the process; thread-safe. Ownership and lifetimes:
//  - callers keep the store alive (their shared_ptr) until their calls complete: pool jobs
//    refer to it by `this`;
//  - a caller's io_context must outlive the store (or its run() must have returned): a pool
//    thread finishing a call still holds that executor's work guard for a moment after the
//    result is delivered;
//  - one provider per process, opened after any fork(): connections must not cross a fork.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::string const& path, StoreOptions const& options, int threads)
      : keyspace_(*options.clock),
        connections_(path, threads, busy_timeout_for(options.command_timeout)) {}

  // Lets queued calls (and a queued sweep) finish while every member is still alive; then the
  // connections close (members are destroyed after this body), the last checkpointing the WAL
  // into the database file.
  ~SqliteStore() override { connections_.join(); }

  std::string_view backend() const override { return "sqlite"; }

  Async<void> ping() override {
    return read([this](SqliteConnection& c) { return keyspace_.ping(c); });
  }

  Async<std::optional<std::string>> get(std::string key) override {
    return read([this, key = std::move(key)](SqliteConnection& c) {
      return keyspace_.get(c, key);
    });
  }

  Async<void> set(std::string key, std::string value, std::optional<Millis> ttl) override {
    return write(
        [this, key = std::move(key), value = std::move(value), ttl](SqliteConnection& c) {
          return keyspace_.set(c, key, value, ttl);
        });
  }

  Async<bool> set_if_absent(std::string key, std::string value,
                            std::optional<Millis> ttl) override {
    return write(
        [this, key = std::move(key), value = std::move(value), ttl](SqliteConnection& c) {
          return keyspace_.set_if_absent(c, key, value, ttl);
        });
  }

  Async<bool> del(std::string key) override {
    return write([this, key = std::move(key)](SqliteConnection& c) {
      return keyspace_.del(c, key);
    });
  }

  Async<bool> expire(std::string key, Millis ttl) override {
    return write([this, key = std::move(key), ttl](SqliteConnection& c) {
      return keyspace_.expire(c, key, ttl);
    });
  }

  Async<std::int64_t> pttl(std::string key) override {
    return read([this, key = std::move(key)](SqliteConnection& c) {
      return keyspace_.pttl(c, key);
    });
  }

  Async<bool> compare_and_set(std::string key, std::optional<std::string> expected,
                              std::string desired, std::optional<Millis> ttl) override {
    return write([this, key = std::move(key), expected = std::move(expected),
                              desired = std::move(desired), ttl](SqliteConnection& c) {
      return keyspace_.compare_and_set(c, key, expected, desired, ttl);
    });
  }

  Async<std::int64_t> incr_by(std::string key, std::int64_t delta) override {
    return write([this, key = std::move(key), delta](SqliteConnection& c) {
      return keyspace_.incr_by(c, key, delta);
    });
  }

  Async<std::optional<std::string>> hget(std::string key, std::string field) override {
    return read(
        [this, key = std::move(key), field = std::move(field)](SqliteConnection& c) {
          return keyspace_.hget(c, key, field);
        });
  }

  Async<FieldMap> hgetall(std::string key) override {
    return read([this, key = std::move(key)](SqliteConnection& c) {
      return keyspace_.hgetall(c, key);
    });
  }

  Async<void> hset(std::string key, Fields fields, std::optional<Millis> ttl) override {
    return write(
        [this, key = std::move(key), fields = std::move(fields), ttl](SqliteConnection& c) {
          return keyspace_.hset(c, key, fields, ttl);
        });
  }

  Async<std::int64_t> hdel(std::string key, std::vector<std::string> fields) override {
    return write(
        [this, key = std::move(key), fields = std::move(fields)](SqliteConnection& c) {
          return keyspace_.hdel(c, key, fields);
        });
  }

  Async<std::int64_t> list_push(std::string key, std::string value) override {
    return write(
        [this, key = std::move(key), value = std::move(value)](SqliteConnection& c) {
          return keyspace_.list_push(c, key, value);
        });
  }

  Async<std::vector<std::string>> list_range(std::string key) override {
    return read([this, key = std::move(key)](SqliteConnection& c) {
      return keyspace_.list_range(c, key);
    });
  }

  Async<bool> commit_if(std::vector<Condition> conditions, std::vector<Write> writes) override {
    return write([this, conditions = std::move(conditions),
                  writes = std::move(writes)](SqliteConnection& c) {
      return keyspace_.commit_if(c, conditions, writes);
    });
  }

 private:
  // Runs work(connection) on a pool thread (see SqliteConnectionPool::run).
  template <class F>
  auto read(F work) -> asio::awaitable<std::invoke_result_t<F&, SqliteConnection&>> {
    return connections_.run(std::move(work));
  }

  // As read(), and counts the write towards the next sweep.
  template <class F>
  auto write(F work) -> asio::awaitable<std::invoke_result_t<F&, SqliteConnection&>> {
    if (writes_.fetch_add(1, std::memory_order_relaxed) % kKeySweepEvery == kKeySweepEvery - 1) {
      connections_.post([this] { sweep(); });
    }
    return read(std::move(work));
  }

  // Pool thread. Best effort: a failed sweep (busy, I/O) leaves the rows for the next one, and
  // reads never see them anyway (they compare expires_at on every read).
  void sweep() {
    auto connection = connections_.acquire();
    (void)keyspace_.sweep(*connection, kKeySweepBatch);
  }

  SqliteKeyspace keyspace_;
  std::atomic<std::uint32_t> writes_{0};
  SqliteConnectionPool connections_;  // its threads use the members above
};

class SqliteProvider final : public StoreProvider {
 public:
  explicit SqliteProvider(std::shared_ptr<SqliteStore> store) : store_(std::move(store)) {}
  std::string_view backend() const override { return "sqlite"; }
  // One store for every worker thread: sqlite serializes writers anyway, and one pool bounds
  // the threads and file descriptors the process spends on it.
  std::shared_ptr<Store> store_for(boost::asio::any_io_executor) override { return store_; }

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace

std::unique_ptr<StoreProvider> make_sqlite_provider(std::string const& path,
                                                    StoreOptions const& options) {
  if (!options.clock) throw std::invalid_argument("sqlite store '" + path + "' needs a clock");
  int threads = std::max(options.sqlite_threads, 1);
  return std::make_unique<SqliteProvider>(std::make_shared<SqliteStore>(path, options, threads));
}

}  // namespace outboard::state
