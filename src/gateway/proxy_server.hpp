#pragma once
// The gateway's data plane: one event loop per worker thread, each with its own acceptor on
// the listen port (SO_REUSEPORT), its own balancer, its own upstream connection pools. A client
// connection, its requests and the upstream connections they use stay on one thread; threads
// share only the BackendPool ("truth") and the metrics counters.
#include <atomic>
#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "gateway/backend_pool.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/sticky_token.hpp"

namespace spdlog {
class logger;
}

namespace outboard::gateway {

class ProxyServer {
 public:
  ProxyServer(GatewayConfig const& config, BackendPool& pool, GatewayMetrics& metrics, core::Clock const& clock);
  ~ProxyServer();

  // Binds and starts the workers; throws std::runtime_error naming the address on failure.
  void start();
  std::uint16_t port() const { return port_; }

  // Stops accepting, closes idle client connections, lets requests in flight finish (up to the
  // deadline), then stops the workers. True when everything finished in time.
  bool drain(core::Millis deadline);
  void stop();

 private:
  struct Worker;
  friend struct ClientSession;
  // A slot on `backend` was freed on `from`'s thread: wakes the first waiter for it there, and
  // on the other workers when requests queue for it anywhere.
  void slot_freed(Worker& from, Backend& backend);
  // A worker's view of panic mode (panic.hpp) after a refresh: the gauge, and one log line when
  // the mode changes, whichever thread sees the change first.
  void note_panic(bool panic, std::size_t available, std::size_t eligible);
  GatewayConfig const& config_;
  BackendPool& pool_;
  GatewayMetrics& metrics_;
  core::Clock const& clock_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint16_t port_ = 0;
  std::atomic<int> open_connections_{0};
  std::shared_ptr<spdlog::logger> access_log_;  // null unless log.access
  ConnectionLimits connection_limits_;
  StickySigner sticky_signer_;
};

}  // namespace outboard::gateway
