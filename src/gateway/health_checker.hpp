#pragma once
// Active health checks: on its own thread and event loop, every interval, one GET of the health
// path per backend, each with a timeout; rise successes bring a backend up, fall failures take
// it down. Results go straight into the shared Backend state the workers read.
#include <memory>
#include <thread>

#include "core/clock.hpp"
#include "gateway/backend_pool.hpp"
#include "gateway/gateway_config.hpp"

namespace boost::asio {
class io_context;
}

namespace outboard::gateway {

class HealthChecker {
 public:
  HealthChecker(GatewayConfig const& config, BackendPool& pool, core::Clock const& clock);
  ~HealthChecker();
  void start();
  void stop();

 private:
  GatewayConfig const& config_;
  BackendPool& pool_;
  core::Clock const& clock_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::thread thread_;
};

}  // namespace outboard::gateway
