#pragma once
// One outboard_test_backend process (tests/test_backend/main.cpp) for the gateway tests: a tiny
// blocking HTTP/1.1 server on a free loopback port that names itself in X-Served-By, counts the
// requests it receives per path, and has routes to be slow, reset, fail, echo and upgrade.
// The constructor returns once the process answers GET /_count as itself (bounded wait); the
// destructor SIGKILLs and reaps it (also when SIGSTOPped), and prints its log when the test failed.
//
// Also here: ByteSocket, a blocking loopback connection for raw bytes both ways (the WebSocket
// splice), which RawConnection (HTTP responses only) does not offer.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

class TestBackend {
 public:
  // `name` gets a random suffix, so two tests running at once can never mistake each other's
  // backends; name() is the full name, as X-Served-By shows it. port 0: a free port.
  explicit TestBackend(std::string name, std::uint16_t port = 0);
  ~TestBackend();
  TestBackend(TestBackend const&) = delete;
  TestBackend& operator=(TestBackend const&) = delete;

  std::string const& name() const { return name_; }
  std::uint16_t port() const { return port_; }
  // "127.0.0.1:PORT": what --backend takes and the gateway's id for it.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return process_->pid(); }

  void signal(int sig) const { process_->signal(sig); }
  // SIGKILL and reap: afterwards the port refuses connections.
  void kill();
  bool running() { return process_->running(); }

  // GET /_count straight from the backend (not through the gateway).
  nlohmann::json counts() const;
  // Requests received on `path` (all paths when empty), control routes excluded.
  std::uint64_t count(std::string const& path = {}) const;
  void reset_counts() const;
  // POST /_unready or /_ready: what GET /readyz answers from now on.
  void set_ready(bool ready) const;

  std::string log() const;

 private:
  bool start(std::uint16_t port, std::string& why);

  TempDir dir_;
  std::string name_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A blocking TCP connection to 127.0.0.1:port for raw bytes; every wait is bounded.
class ByteSocket {
 public:
  explicit ByteSocket(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ByteSocket();
  ByteSocket(ByteSocket const&) = delete;
  ByteSocket& operator=(ByteSocket const&) = delete;

  void send(std::string_view bytes);
  // Reads until the buffer holds `delimiter`; returns everything up to and including it, and keeps
  // the rest for the next read. Throws on timeout or when the peer closes first.
  std::string read_until(std::string_view delimiter);
  // Reads exactly n bytes (what read_until kept comes first). Throws on timeout or close.
  std::string read_exactly(std::size_t n);
  // True when the peer closes (EOF or reset) within `timeout`; bytes received meanwhile are dropped.
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  void receive_more();
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

}  // namespace outboard::testing
