#pragma once
// A worker thread's keep-alive connections to the backends, and opening new ones. Used on that
// thread only: no lock. Connections are kept per Backend object (stable while it is a member; a
// backend that stays through a reload keeps its object), so the hot path hashes a pointer.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "gateway/backend_pool.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/traffic_meter.hpp"

namespace outboard::gateway {

// One upstream connection with its read buffer (bytes past a response stay with the connection).
// Its bytes are counted in the metrics by the worker's MeterRegistry (traffic_meter.hpp) after a
// request on it (meter.touch()) and when it closes.
struct Upstream {
  explicit Upstream(boost::asio::any_io_executor ex) : stream(std::move(ex)) {}
  ~Upstream() { meter.account_attached(); }
  Upstream(Upstream const&) = delete;
  Upstream& operator=(Upstream const&) = delete;
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  TrafficMeter meter;
};

class UpstreamPool {
 public:
  // The most recently pooled connection to `backend` (LIFO: the warmest), or null. Not probed:
  // the backend may have closed it meanwhile (the caller resends when that is safe).
  std::unique_ptr<Upstream> take(Backend const& backend);
  // Keeps `up` for the next request to `backend`, unless `max_idle` are pooled already.
  void put(Backend const& backend, std::unique_ptr<Upstream> up, std::size_t max_idle);
  // Closes the pooled connections to backends not in `members` (after a membership change).
  void retain_only(std::vector<std::shared_ptr<Backend>> const& members);

 private:
  std::unordered_map<Backend const*, std::vector<std::unique_ptr<Upstream>>> idle_;
};

// A new connection to `backend` (TCP_NODELAY), within `timeout`; null when it cannot be made
// (resolution or connect failed, or timed out).
// Its meter is attached to `meters` (the worker's).
boost::asio::awaitable<std::unique_ptr<Upstream>> open_upstream(boost::asio::any_io_executor ex, Backend const& backend,
                                                                core::Millis timeout, GatewayMetrics& metrics,
                                                                MeterRegistry& meters);

}  // namespace outboard::gateway
