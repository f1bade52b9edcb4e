#pragma once
// Versioned schema migrations for postgres://, run when a provider is opened (start-up, before
// any event loop serves: the only place this backend blocks).
//
// outboard_schema_migrations holds one row per applied version. Each pending migration runs in a
// transaction of its own that first takes a database-wide advisory lock, so servers starting
// together apply each migration exactly once. A database whose newest version is above what this
// build knows is refused: an older binary must not write into a layout it does not understand.
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace outboard::state {

struct Migration {
  int version;
  char const* name;
  char const* sql;
};

// Every migration this build knows, in version order (pg_schema_sql.cpp).
std::vector<Migration> const& migrations();

struct MigrationReport {
  int database_version = 0;  // after the run
  std::vector<int> applied;  // what this run applied, in order (empty when up to date)
};

// Connects (blocking, bounded by `timeout`), applies what is pending and disconnects. Throws
// std::runtime_error naming the URL without its password when the database cannot be reached,
// a migration fails, or the database is newer than this build.
MigrationReport run_migrations(std::string const& url, core::Millis timeout);

}  // namespace outboard::state
