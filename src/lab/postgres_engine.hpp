#pragma once
// A private PostgreSQL 15: initdb in a directory of the caller's (--no-sync, trust auth on
// loopback, superuser "outboard"), the server on a free loopback port, stopped by pid when the
// object goes. As root, initdb and postgres run as the `postgres` user through setpriv (which
// execs in place, so the pid we hold is the postmaster's), since PostgreSQL refuses to run as
// root; the directory is then given to that user, and its parent must let it in (a directory
// straight under /tmp does). Started by `outboard lab --data postgres` and by the tests
// (tests/support/postgres_server.hpp).
//
// fsync is off: what the lab and the tests measure is outboard's behaviour when the database
// goes away and comes back, not the disk.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "lab/child_process.hpp"

namespace outboard::lab {

class PostgresEngine {
 public:
  // initdb and start, blocking until it accepts connections; throws std::runtime_error with the
  // log when it fails (or when postgresql-15 is not installed).
  explicit PostgresEngine(std::filesystem::path dir);
  ~PostgresEngine();
  PostgresEngine(PostgresEngine const&) = delete;
  PostgresEngine& operator=(PostgresEngine const&) = delete;

  std::uint16_t port() const { return port_; }
  // postgres://outboard@127.0.0.1:PORT/DB
  std::string url(std::string const& database = "outboard") const;
  std::filesystem::path log_file() const { return dir_ / "postgres.log"; }

  // Fast shutdown (SIGINT: sessions ended, a checkpoint written), waiting for the postmaster.
  void stop();
  // Starts it again on the same data and port; returns once it accepts connections.
  void start();
  bool running();

  // The same two steps for an event loop that must keep running meanwhile (the lab's): each
  // begin_ returns at once; stopped() and accepting() are one quick check each.
  void begin_stop();
  bool stopped();
  void begin_start();
  bool accepting();  // one pg_isready run, bounded
  ChildProcess* postmaster() { return postmaster_.get(); }

  // Runs SQL through psql (as superuser, unaligned, tuples only) and returns its output; throws
  // with psql's message when it fails.
  std::string psql(std::string const& sql, std::string const& database = "outboard");
  // A new, empty database (no tables); returns its name.
  std::string create_database();

 private:
  std::filesystem::path data_dir() const { return dir_ / "data"; }
  void wait_until_accepting();

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> postmaster_;
  int runs_ = 0;       // psql and pg_isready runs so far: each writes its own output file
  int databases_ = 0;  // create_database() calls so far
};

}  // namespace outboard::lab
