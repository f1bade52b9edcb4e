#pragma once
// A private PostgreSQL 15 for tests: initdb in a temp dir (--no-sync, trust auth, superuser
// "outboard"), the server on a free loopback port with fsync off and small buffers, stopped (by
// pid) when the object goes. As root (CI), initdb and postgres run as the `postgres` user through
// setpriv (which execs in place, so the pid we hold is the postmaster's), since PostgreSQL
// refuses to run as root.
//
// fresh_postgres_url() (support/store_engines.hpp) uses one process-wide instance, shared_postgres().
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

class PostgresServer {
 public:
  PostgresServer();  // initdb and start; throws std::runtime_error with the log when it fails
  ~PostgresServer();
  PostgresServer(PostgresServer const&) = delete;
  PostgresServer& operator=(PostgresServer const&) = delete;

  std::uint16_t port() const { return port_; }
  // postgres://outboard@127.0.0.1:PORT/DB
  std::string url(std::string const& database = "outboard") const;

  // Fast shutdown (SIGINT: sessions ended, a checkpoint written), waiting for the postmaster.
  void stop();
  // Starts it again on the same data and port; returns once it accepts connections.
  void start();
  bool running();

  // Runs SQL through psql (as superuser, unaligned, tuples only) and returns its output; throws
  // with psql's message when it fails.
  std::string psql(std::string const& sql, std::string const& database = "outboard");
  // A new, empty database (no tables); returns its name.
  std::string create_database();

 private:
  std::filesystem::path data_dir() const { return dir_ / "data"; }
  void wait_until_accepting();

  TempDir dir_;
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> postmaster_;
  int runs_ = 0;       // psql calls so far: each writes its own output file
  int databases_ = 0;  // create_database() calls so far
};

// The process-wide server behind fresh_postgres_url(), started on first use.
PostgresServer& shared_postgres();

}  // namespace outboard::testing
