#include "state/sqlite/sqlite_connection_pool.hpp"

#include "state/sqlite/sqlite_schema.hpp"

namespace outboard::state {

SqliteConnectionPool::SqliteConnectionPool(std::string const& path, int size, Millis busy_timeout)
    : threads_(static_cast<std::size_t>(size)) {
  for (int i = 0; i < size; ++i) {
    auto connection = std::make_unique<SqliteConnection>(path, busy_timeout);
    configure_connection(*connection);
    if (i == 0) create_schema(*connection);
    free_.push_back(std::move(connection));
  }
}

SqliteConnectionPool::Lease SqliteConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [this] { return !free_.empty(); });
  auto connection = std::move(free_.back());
  free_.pop_back();
  return Lease(*this, std::move(connection));
}

void SqliteConnectionPool::release(std::unique_ptr<SqliteConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(connection));
  }
  freed_.notify_one();
}

}  // namespace outboard::state
