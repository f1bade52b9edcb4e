#pragma once
// One `outboard gateway` process for an integration test: the built binary (OUTBOARD_BINARY)
// with a free traffic port, a free admin port, the given backends and extra flags, its own log
// file in a temp directory. The constructor returns once the admin API answers GET /healthz and
// the traffic port accepts connections (bounded wait); the destructor SIGKILLs and reaps it, and
// prints its log when the test failed.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

struct GatewayOptions {
  // Each becomes --backend SPEC ("127.0.0.1:PORT" or "127.0.0.1:PORT weight=N").
  std::vector<std::string> backends;
  std::string policy;  // --policy; empty: the default (round_robin)
  int threads = 1;     // --threads; 1 makes a policy's picks a single, predictable sequence
  // TOML written to gateway.toml in the process's temp dir and given with --config (when not
  // empty). rewrite_config() changes it later, for SIGHUP reloads.
  std::string config;
  std::vector<std::string> extra_args;     // appended after the defaults
  std::map<std::string, std::string> env;  // extra environment (OUTBOARD_* settings)
  bool wait_ready = true;
  std::uint16_t port = 0;  // the traffic port (--listen 127.0.0.1:PORT); 0: a free one
  // --admin-token-file; empty: admin.token in the process's temp dir, created by the gateway.
  std::filesystem::path admin_token_file;
};

class GatewayProcess {
 public:
  // Throws std::runtime_error (with the log) when the process exits or is not ready in 20 s.
  explicit GatewayProcess(GatewayOptions options);
  ~GatewayProcess();
  GatewayProcess(GatewayProcess const&) = delete;
  GatewayProcess& operator=(GatewayProcess const&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return process_->pid(); }

  void signal(int sig) const { process_->signal(sig); }
  // Exit code (128+signal when killed), or nullopt if still running after timeout_ms.
  std::optional<int> wait_exit(int timeout_ms) { return process_->wait(timeout_ms); }
  bool running() { return process_->running(); }

  // A request to the admin API, with the bearer token and Content-Type: application/json.
  HttpResponse admin(std::string_view method, std::string_view target, std::string_view body = {}) const;
  // The admin API's bearer token, from the file the gateway created in the process's temp dir.
  std::string admin_token() const;
  std::filesystem::path admin_token_path() const { return admin_token_file_; }
  // GET /backends: the "backends" array.
  nlohmann::json backends() const;
  // The entry of GET /backends with this id ("host:port"), or a null JSON value.
  nlohmann::json backend(std::string const& id) const;

  std::filesystem::path config_path() const { return dir_ / "gateway.toml"; }
  // Replaces the config file (atomically: written aside, then renamed over it).
  void rewrite_config(std::string const& toml) const;

  std::string log() const;

 private:
  void wait_until_ready();

  TempDir dir_;
  std::uint16_t port_;
  std::uint16_t admin_port_;
  std::filesystem::path admin_token_file_;
  std::unique_ptr<ChildProcess> process_;
};

// A client that keeps one connection open across requests (HTTP/1.1 keep-alive), where HttpClient
// opens a new one each time. It reconnects only after a response said Connection: close; a
// failure on an open connection is thrown, never hidden by a silent reconnect.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(std::uint16_t port) : port_(port) {}
  HttpResponse request(std::string_view method, std::string_view target, HeaderList const& headers = {},
                       std::string_view body = {});
  HttpResponse get(std::string_view target, HeaderList const& headers = {}) { return request("GET", target, headers); }
  // How many connections this client has opened so far.
  int connections_opened() const { return opened_; }

 private:
  std::uint16_t port_;
  std::optional<RawConnection> conn_;
  int opened_ = 0;
};

// Polls `done` every `step` until it returns true (then true) or `limit` passed (then false).
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds limit,
                std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

}  // namespace outboard::testing
