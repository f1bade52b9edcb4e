#include "gateway/gateway_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "gateway/backend_pool.hpp"

namespace outboard::gateway {

void GatewayMetrics::observe(unsigned status, double seconds) {
  std::size_t cls = status >= 100 && status < 600 ? status / 100 : 0;
  responses_by_class[cls].fetch_add(1, std::memory_order_relaxed);
  auto it = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  latency[static_cast<std::size_t>(it - kBuckets.begin())].fetch_add(1, std::memory_order_relaxed);
  latency_count.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::string GatewayMetrics::render(BackendPool const& pool, std::int64_t now_ms) const {
  auto load = [](auto const& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  out += "# TYPE outboard_gateway_responses_total counter\n";
  for (std::size_t c = 1; c < responses_by_class.size(); ++c) {
    out += fmt::format("outboard_gateway_responses_total{{class=\"{}xx\"}} {}\n", c, load(responses_by_class[c]));
  }
  out += "# TYPE outboard_gateway_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += load(latency[b]);
    std::string le = b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf";
    out += fmt::format("outboard_gateway_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  out += fmt::format("outboard_gateway_request_duration_seconds_sum {:.9f}\n", static_cast<double>(load(latency_sum_ns)) / 1e9);
  out += fmt::format("outboard_gateway_request_duration_seconds_count {}\n", load(latency_count));
  out += "# TYPE outboard_gateway_retries_total counter\n";
  out += fmt::format("outboard_gateway_retries_total {}\n", load(retries));
  out += fmt::format("outboard_gateway_retries_denied_total {}\n", load(retries_denied_by_budget));
  out += "# TYPE outboard_gateway_upstream_connections_total counter\n";
  out += fmt::format("outboard_gateway_upstream_connections_total{{kind=\"new\"}} {}\n", load(upstream_connects));
  out += fmt::format("outboard_gateway_upstream_connections_total{{kind=\"reused\"}} {}\n", load(upstream_reuses));
  out += "# TYPE outboard_gateway_open_connections gauge\n";
  out += fmt::format("outboard_gateway_open_connections {}\n", load(open_client_connections));
  out += fmt::format("outboard_gateway_rejected_requests_total {}\n", load(rejected_requests));
  out += fmt::format("outboard_gateway_websocket_sessions_total {}\n", load(websocket_sessions));
  out += "# TYPE outboard_gateway_websocket_open gauge\n";
  out += fmt::format("outboard_gateway_websocket_open {}\n", load(websocket.open));
  out += fmt::format("outboard_gateway_websocket_closed_idle_total {}\n", load(websocket.closed_idle));
  out += fmt::format("outboard_gateway_websocket_closed_drain_total {}\n", load(websocket.closed_drain));
  out += fmt::format("outboard_gateway_websocket_protocol_errors_total {}\n", load(websocket.protocol_errors));
  out += "# TYPE outboard_gateway_refused_connections_total counter\n";
  out += fmt::format("outboard_gateway_refused_connections_total{{rule=\"max_connections\"}} {}\n",
                     load(refused_connections_total_cap));
  out += fmt::format("outboard_gateway_refused_connections_total{{rule=\"max_connections_per_client\"}} {}\n",
                     load(refused_connections_per_client_cap));
  out += "# TYPE outboard_gateway_limit_rejections_total counter\n";
  out += fmt::format("outboard_gateway_limit_rejections_total{{rule=\"queue_full\"}} {}\n", load(queue_full));
  out += fmt::format("outboard_gateway_limit_rejections_total{{rule=\"queue_timeout\"}} {}\n", load(queue_timeouts));
  out += fmt::format("outboard_gateway_limit_rejections_total{{rule=\"body_timeout\"}} {}\n", load(body_timeouts));
  out += fmt::format("outboard_gateway_limit_rejections_total{{rule=\"total_timeout\"}} {}\n", load(total_timeouts));
  out += "# TYPE outboard_gateway_queue_wait_seconds summary\n";
  out += fmt::format("outboard_gateway_queue_wait_seconds_sum {:.9f}\n", static_cast<double>(load(queue_wait_ns)) / 1e9);
  out += fmt::format("outboard_gateway_queue_wait_seconds_count {}\n", load(queued_requests));
  out += "# TYPE outboard_gateway_backend_requests_total counter\n";
  auto members = pool.snapshot();
  for (auto const& b : members->backends) {
    std::string id = b->id();
    out += fmt::format("outboard_gateway_backend_requests_total{{backend=\"{}\"}} {}\n", id, load(b->requests));
    for (std::size_t c = 1; c < b->responses.size(); ++c) {
      out += fmt::format("outboard_gateway_backend_responses_total{{backend=\"{}\",class=\"{}xx\"}} {}\n", id, c,
                         load(b->responses[c]));
    }
    out += fmt::format("outboard_gateway_backend_failures_total{{backend=\"{}\"}} {}\n", id, load(b->failures));
    out += fmt::format("outboard_gateway_backend_ejections_total{{backend=\"{}\"}} {}\n", id, load(b->ejections));
    out += fmt::format("outboard_gateway_backend_in_flight{{backend=\"{}\"}} {}\n", id, load(b->in_flight));
    out += fmt::format("outboard_gateway_backend_queued{{backend=\"{}\"}} {}\n", id, load(b->queued));
    out += fmt::format("outboard_gateway_backend_up{{backend=\"{}\",state=\"{}\"}} {}\n", id, b->state_name(now_ms),
                       b->available(now_ms) ? 1 : 0);
  }
  return out;
}

}  // namespace outboard::gateway
