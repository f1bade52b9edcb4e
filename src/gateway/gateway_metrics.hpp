#pragma once
// Gateway-wide counters (relaxed atomics; every worker adds, /metrics reads). Per-backend
// counters live on the Backend objects themselves.
//
// The page follows the Prometheus text format's conventions: every family has HELP and TYPE,
// and every family keeps one label set whatever happens (a backend's state is a 0/1 gauge per
// state, always all of them, never a label whose value changes and so starts a new series).
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/websocket_tunnel.hpp"
#include "registry/watcher.hpp"

namespace outboard::gateway {

class BackendPool;

// The request methods counted on their own; any other is "OTHER" (a fixed label set).
inline constexpr std::array<std::string_view, 8> kMetricMethods{"GET",    "HEAD",    "POST",  "PUT",
                                                                "DELETE", "PATCH", "OPTIONS", "OTHER"};
// The index of `method` in kMetricMethods (OTHER for anything not listed).
std::size_t method_slot(std::string_view method);

struct GatewayMetrics {
  static constexpr std::array<double, 12> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.5,    2.5};
  // [method slot][status class]: 1xx..5xx, [0]: none sent.
  std::array<std::array<std::atomic<std::uint64_t>, 6>, kMetricMethods.size()> responses{};
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> latency{};
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> latency_sum_ns{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> retries_denied_by_budget{0};
  std::atomic<std::uint64_t> upstream_connects{0};
  std::atomic<std::uint64_t> upstream_reuses{0};
  // A reused keep-alive connection the backend had closed, met before any response byte: the
  // request sent again on a new connection (safe to resend), or answered 502 (not safe).
  std::atomic<std::uint64_t> stale_upstream_resent{0};
  std::atomic<std::uint64_t> stale_upstream_refused{0};
  std::atomic<std::int64_t> open_client_connections{0};
  std::atomic<std::uint64_t> rejected_requests{0};  // 400/408/413/431 answered by the gateway
  std::atomic<std::uint64_t> websocket_sessions{0};
  WebSocketCounters websocket;  // tunnels open, and closed by idle, drain or a protocol error
  // Limits (connection_limits.hpp, backend_queue.hpp, body_pace.hpp), one counter per rule; each
  // rejection is also one access-log line whose "error" names the rule.
  std::atomic<std::uint64_t> refused_connections_total_cap{0};       // limits.max_connections
  std::atomic<std::uint64_t> refused_connections_per_client_cap{0};  // limits.max_connections_per_client
  std::atomic<std::uint64_t> queue_full{0};                          // limits.queue_size
  std::atomic<std::uint64_t> queue_timeouts{0};                      // timeouts.queue_ms
  std::atomic<std::uint64_t> queued_requests{0};                     // requests that had to wait
  std::atomic<std::uint64_t> queue_wait_ns{0};                       // their time waiting, summed
  std::atomic<std::uint64_t> body_timeouts{0};                       // timeouts.body_*
  std::atomic<std::uint64_t> total_timeouts{0};                      // timeouts.total_ms
  // Bytes on the wire (TCP payload, as the kernel counts it: traffic_meter.hpp), added when a
  // request ends and when a connection closes.
  std::atomic<std::uint64_t> client_received_bytes{0};
  std::atomic<std::uint64_t> client_sent_bytes{0};
  std::atomic<std::uint64_t> backend_sent_bytes{0};
  std::atomic<std::uint64_t> backend_received_bytes{0};
  // Panic mode (health.panic_threshold_percent, panic.hpp): 1 while the gateway balances over
  // every backend that is not draining because too few are available.
  std::atomic<bool> panic{false};
  std::atomic<std::uint64_t> panic_entered{0};
  // SIGHUP reloads, applied and refused.
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint64_t> reloads_refused{0};
  // The registry's view (docs/TRUTH.md), set once at start-up when the gateway has one.
  registry::WatcherStatus const* registry = nullptr;

  // One response sent to a client (`method` as the request line has it).
  void observe(std::string_view method, unsigned status, double seconds);
  // The whole page: the gateway's families, the backends', then the process's
  // (core/process_metrics.hpp).
  std::string render(BackendPool const& pool, std::int64_t now_ms) const;
};

}  // namespace outboard::gateway
