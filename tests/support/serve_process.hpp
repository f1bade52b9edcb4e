#pragma once
// One `outboard serve` process for an integration test: the built binary (OUTBOARD_BINARY) on a
// free loopback port, the cheapest KDF, two threads, its own log file in a temp directory. The
// constructor returns once GET /healthz answers 200 from this very instance (bounded wait);
// the destructor SIGKILLs and reaps it, and prints its log when the test failed.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

// A fresh cookie-signing key: 32 random bytes as 64 hex characters.
std::string make_session_key();

struct ServeOptions {
  // Instance name; the instance id (X-Served-By) is this plus a random suffix, so two processes
  // that ended up on one port (SO_REUSEPORT) could never be mistaken for each other.
  std::string name = "serve";
  std::string state = "memory://";  // --state
  // Cookie-signing keys (hex). Empty: one generated for this process alone. Give the same keys
  // to every instance of a test that must accept each other's cookies.
  // Written to a 0600 file in the process's temp dir, given with --session-keys-file.
  std::vector<std::string> session_keys;
  // True: no session keys at all, so the process keeps its key in the session store (shared
  // by every instance on that store). session_keys is then ignored.
  bool keys_in_store = false;
  int threads = 2;                            // --threads
  std::uint16_t port = 0;                     // --port; 0: a free loopback port
  // --blobs URL (file://DIR). Empty: a private directory inside this process's temp dir. Give
  // the same URL to every instance of a test that must read each other's uploads.
  std::string blobs;
  std::vector<std::string> extra_args;        // appended after the defaults; a flag may be given once
  std::map<std::string, std::string> env;     // extra environment (OUTBOARD_* settings)
  bool wait_healthy = true;                   // wait for /healthz 200 before returning
};

class ServeProcess {
 public:
  // Throws std::runtime_error (with the log) when the process exits or is not healthy in 20 s.
  explicit ServeProcess(ServeOptions options);
  ~ServeProcess();
  ServeProcess(ServeProcess const&) = delete;
  ServeProcess& operator=(ServeProcess const&) = delete;

  std::uint16_t port() const { return port_; }
  std::string const& instance() const { return instance_; }
  pid_t pid() const { return process_->pid(); }
  std::vector<std::string> const& session_keys() const { return keys_; }

  void signal(int sig) const { process_->signal(sig); }
  // Exit code (128+signal when killed), or nullopt if still running after timeout_ms.
  std::optional<int> wait_exit(int timeout_ms) { return process_->wait(timeout_ms); }
  bool running() { return process_->running(); }

  std::string log() const;
  std::filesystem::path const& dir() const { return dir_.path(); }
  // The blob directory this process uses (the --blobs directory, without "file://").
  std::filesystem::path const& blobs_dir() const { return blobs_dir_; }

 private:
  void wait_until_healthy();

  TempDir dir_;
  std::vector<std::string> keys_;
  std::uint16_t port_;
  std::string instance_;
  std::filesystem::path blobs_dir_;
  std::unique_ptr<ChildProcess> process_;
};

// Runs the outboard binary with `args` to completion (bounded: SIGKILL after timeout_ms), in a
// scratch directory so nothing lands in the test's working directory. Returns the exit code
// (nullopt if it had to be killed) and everything it wrote to stdout and stderr.
struct CommandResult {
  std::optional<int> exit_code;
  std::string output;
};
CommandResult run_outboard(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                           int timeout_ms = 20'000);

}  // namespace outboard::testing
