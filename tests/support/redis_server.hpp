#pragma once
// A private redis-server for one test: Debian's binary, a free loopback port, a temp directory,
// stopped by its pid. Fails the test (never skips) when redis-server is missing.
#include <cstdint>
#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

class RedisServer {
 public:
  // Starts and waits until it answers PING (bounded). Persistence: appendonly with
  // appendfsync always, so kill() followed by restart() keeps every acknowledged write.
  RedisServer();
  ~RedisServer();

  std::uint16_t port() const { return port_; }
  std::string url(int db = 0) const;  // redis://127.0.0.1:PORT/db
  pid_t pid() const;

  void kill();     // SIGKILL and reap: the store is gone, as in a crash
  void restart();  // start again on the same port and directory, wait for PING
  void pause();    // SIGSTOP: connected but silent (for timeout tests)
  void resume();   // SIGCONT

 private:
  void start();
  TempDir dir_;
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace outboard::testing
