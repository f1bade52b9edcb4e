#pragma once
// The tests' private PostgreSQL 15: the lab's engine (lab/postgres_engine.hpp) in a temp dir of
// its own, removed afterwards. fresh_postgres_url() (support/store_engines.hpp) uses one
// process-wide instance, shared_postgres().
#include "lab/postgres_engine.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

namespace detail {
struct PostgresDir {
  TempDir dir;  // a base of PostgresServer, so it is made before the server and removed after it
};
}  // namespace detail

class PostgresServer : private detail::PostgresDir, public lab::PostgresEngine {
 public:
  // The data in the temp dir itself: straight under /tmp, which the postgres user may enter.
  PostgresServer() : lab::PostgresEngine(dir.path()) {}
};

// The process-wide server behind fresh_postgres_url(), started on first use.
PostgresServer& shared_postgres();

}  // namespace outboard::testing
