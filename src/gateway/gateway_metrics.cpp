#include "gateway/gateway_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "core/process_metrics.hpp"
#include "gateway/backend_pool.hpp"

namespace outboard::gateway {
namespace {

template <class T>
auto load(std::atomic<T> const& a) {
  return a.load(std::memory_order_relaxed);
}

// A family's HELP and TYPE lines; its samples must follow at once (families are contiguous).
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// A family of one unlabelled sample.
template <class T>
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, T value) {
  family(out, name, type, help);
  out += fmt::format("{} {}\n", name, value);
}

// A label value as the text format wants it: backslash, double quote and newline escaped. A
// backend's id is whatever host the operator wrote.
std::string label_value(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// A family of one label with a fixed set of values, each always rendered.
void labelled(std::string& out, std::string_view name, std::string_view type, std::string_view help,
              std::string_view label, std::initializer_list<std::pair<std::string_view, std::uint64_t>> values) {
  family(out, name, type, help);
  for (auto const& [value, count] : values) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, value, count);
}

// A histogram family: `counts` has one slot per bucket plus one for +Inf, not cumulative.
template <std::size_t N>
void histogram(std::string& out, std::string_view name, std::string_view help, std::array<double, N> const& buckets,
               std::array<std::atomic<std::uint64_t>, N + 1> const& counts, double sum_seconds, std::uint64_t count) {
  family(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= N; ++b) {
    cumulative += load(counts[b]);
    std::string le = b < N ? fmt::format("{}", buckets[b]) : "+Inf";
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, le, cumulative);
  }
  out += fmt::format("{}_sum {:.9f}\n{}_count {}\n", name, sum_seconds, name, count);
}

// Every state a backend can be in, each always rendered (0 or 1) so the series never churn.
constexpr std::array<std::string_view, 4> kBackendStates{"up", "down", "ejected", "draining"};

void render_traffic(GatewayMetrics const& m, std::string& out) {
  family(out, "outboard_gateway_responses_total", "counter",
         "Responses sent to clients (the gateway's own 502/503/504 included), by request method and status class.");
  for (std::size_t method = 0; method < kMetricMethods.size(); ++method) {
    for (std::size_t c = 1; c < m.responses[method].size(); ++c) {
      out += fmt::format("outboard_gateway_responses_total{{method=\"{}\",class=\"{}xx\"}} {}\n",
                         kMetricMethods[method], c, load(m.responses[method][c]));
    }
  }
  histogram(out, "outboard_gateway_request_duration_seconds", "From a request's whole header read to its last response byte.",
            GatewayMetrics::kBuckets, m.latency, static_cast<double>(load(m.latency_sum_ns)) / 1e9, load(m.latency_count));
  single(out, "outboard_gateway_retries_total", "counter", "Attempts sent to another backend after one failed.",
         load(m.retries));
  single(out, "outboard_gateway_retries_denied_total", "counter",
         "Retries not made because the retry budget (retries.budget_percent) was spent.",
         load(m.retries_denied_by_budget));
  labelled(out, "outboard_gateway_upstream_connections_total", "counter",
           "Backend connections used for a request: newly opened or reused from the keep-alive pool.", "kind",
           {{"new", load(m.upstream_connects)}, {"reused", load(m.upstream_reuses)}});
  labelled(out, "outboard_gateway_stale_upstream_total", "counter",
           "Reused backend connections found closed by the backend before any response byte: the request "
           "sent again on a new connection (resent) or answered 502 because it was not safe to resend (refused).",
           "outcome", {{"resent", load(m.stale_upstream_resent)}, {"refused", load(m.stale_upstream_refused)}});
  single(out, "outboard_gateway_open_connections", "gauge", "Client connections open now.",
         load(m.open_client_connections));
  single(out, "outboard_gateway_rejected_requests_total", "counter",
         "Requests the gateway answered itself with an error (malformed, too large, too slow, over a limit).",
         load(m.rejected_requests));
  single(out, "outboard_gateway_client_received_bytes_total", "counter",
         "Bytes received from clients (TCP payload).", load(m.client_received_bytes));
  single(out, "outboard_gateway_client_sent_bytes_total", "counter", "Bytes sent to clients (TCP payload).",
         load(m.client_sent_bytes));
  single(out, "outboard_gateway_backend_sent_bytes_total", "counter", "Bytes sent to backends (TCP payload).",
         load(m.backend_sent_bytes));
  single(out, "outboard_gateway_backend_received_bytes_total", "counter",
         "Bytes received from backends (TCP payload).", load(m.backend_received_bytes));
}

void render_websockets(GatewayMetrics const& m, std::string& out) {
  single(out, "outboard_gateway_websocket_sessions_total", "counter", "WebSocket upgrades a backend accepted (101).",
         load(m.websocket_sessions));
  single(out, "outboard_gateway_websocket_open", "gauge", "WebSocket tunnels open now.", load(m.websocket.open));
  single(out, "outboard_gateway_websocket_closed_idle_total", "counter",
         "WebSocket tunnels closed by timeouts.websocket_idle_ms (1001).", load(m.websocket.closed_idle));
  single(out, "outboard_gateway_websocket_closed_drain_total", "counter",
         "WebSocket tunnels closed by a drain (1001).", load(m.websocket.closed_drain));
  single(out, "outboard_gateway_websocket_closed_backend_removed_total", "counter",
         "WebSocket tunnels closed because their backend was removed or drains (1001).",
         load(m.websocket.closed_backend_removed));
  single(out, "outboard_gateway_websocket_protocol_errors_total", "counter",
         "WebSocket tunnels closed with 1002 for a frame header that breaks RFC 6455.",
         load(m.websocket.protocol_errors));
}

void render_limits(GatewayMetrics const& m, std::string& out) {
  labelled(out, "outboard_gateway_refused_connections_total", "counter",
           "Client connections refused (503) by a connection cap, by rule.", "rule",
           {{"max_connections", load(m.refused_connections_total_cap)},
            {"max_connections_per_client", load(m.refused_connections_per_client_cap)}});
  labelled(out, "outboard_gateway_limit_rejections_total", "counter", "Requests refused by a limit or deadline, by rule.",
           "rule",
           {{"queue_full", load(m.queue_full)},
            {"queue_timeout", load(m.queue_timeouts)},
            {"body_timeout", load(m.body_timeouts)},
            {"total_timeout", load(m.total_timeouts)}});
  family(out, "outboard_gateway_queue_wait_seconds", "summary",
         "Time requests waited for a backend slot (limits.max_in_flight_per_backend), those that waited.");
  out += fmt::format("outboard_gateway_queue_wait_seconds_sum {:.9f}\n", static_cast<double>(load(m.queue_wait_ns)) / 1e9);
  out += fmt::format("outboard_gateway_queue_wait_seconds_count {}\n", load(m.queued_requests));
}

void render_control(GatewayMetrics const& m, std::string& out) {
  single(out, "outboard_gateway_panic", "gauge",
         "1 while too few backends are available (health.panic_threshold_percent) and all but draining ones take traffic.",
         load(m.panic) ? 1 : 0);
  single(out, "outboard_gateway_panic_entered_total", "counter", "Times panic mode began.", load(m.panic_entered));
  labelled(out, "outboard_gateway_reloads_total", "counter", "SIGHUP reloads of the config file, by result.", "result",
           {{"applied", load(m.reloads)}, {"refused", load(m.reloads_refused)}});
}

// One family per loop over the members: a family's samples must be contiguous.
void render_backends(Membership const& members, std::int64_t now_ms, std::string& out) {
  auto per_backend = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    family(out, name, type, help);
    for (auto const& b : members.backends) out += fmt::format("{}{{backend=\"{}\"}} {}\n", name, label_value(b->id()), value(*b));
  };
  per_backend("outboard_gateway_backend_requests_total", "counter", "Requests sent to the backend (each attempt).",
              [](Backend const& b) { return load(b.requests); });
  family(out, "outboard_gateway_backend_responses_total", "counter", "Responses from the backend, by status class.");
  for (auto const& b : members.backends) {
    for (std::size_t c = 1; c < b->responses.size(); ++c) {
      out += fmt::format("outboard_gateway_backend_responses_total{{backend=\"{}\",class=\"{}xx\"}} {}\n", label_value(b->id()), c,
                         load(b->responses[c]));
    }
  }
  per_backend("outboard_gateway_backend_failures_total", "counter",
              "Connect failures, failed sends, missing answers and 5xx from the backend.",
              [](Backend const& b) { return load(b.failures); });
  per_backend("outboard_gateway_backend_ejections_total", "counter", "Times the backend was ejected (outlier.*).",
              [](Backend const& b) { return load(b.ejections); });
  per_backend("outboard_gateway_backend_in_flight", "gauge", "Requests in flight on the backend now.",
              [](Backend const& b) { return load(b.in_flight); });
  per_backend("outboard_gateway_backend_queued", "gauge", "Requests waiting for a slot on the backend now.",
              [](Backend const& b) { return load(b.queued); });
  per_backend("outboard_gateway_backend_up", "gauge",
              "1 when the backend may take traffic (up: healthy, not ejected, not draining), else 0.",
              [&](Backend const& b) { return b.available(now_ms) ? 1 : 0; });
  family(out, "outboard_gateway_backend_state", "gauge",
         "The backend's state: 1 for the state it is in, 0 for each other (up, down, ejected, draining).");
  for (auto const& b : members.backends) {
    std::string state = b->state_name(now_ms);
    std::string id = label_value(b->id());
    for (auto s : kBackendStates) {
      out += fmt::format("outboard_gateway_backend_state{{backend=\"{}\",state=\"{}\"}} {}\n", id, s,
                         state == s ? 1 : 0);
    }
  }
}

// The registry's view (registry/watcher.hpp), when the gateway has one.
void render_registry(registry::WatcherStatus const& r, std::int64_t now_ms, std::string& out) {
  single(out, "outboard_gateway_registry_revision", "gauge", "The etcd revision of the registry view in force.",
         load(r.revision));
  auto confirmed = load(r.confirmed_at_ms);
  double age = confirmed == 0 ? -1.0 : static_cast<double>(std::max<std::int64_t>(0, now_ms - confirmed)) / 1000.0;
  single(out, "outboard_gateway_registry_truth_age_seconds", "gauge",
         "Since etcd last confirmed the view in force (-1: never); grows while the registry is unreachable.", age);
  single(out, "outboard_gateway_registry_connected", "gauge", "1 while the last read of the registry succeeded.",
         load(r.connected) ? 1 : 0);
  single(out, "outboard_gateway_registry_members", "gauge", "Members in the registry view in force.", load(r.members));
  single(out, "outboard_gateway_registry_skipped_entries_total", "counter",
         "Malformed registry entries skipped (each time one is read).", load(r.skipped_entries));
  single(out, "outboard_gateway_registry_failures_total", "counter", "Failed registry reads and watches.",
         load(r.failures));
  histogram(out, "outboard_gateway_registry_convergence_seconds",
            "From a member's change (as the server stamped it) to this gateway applying it.",
            registry::WatcherStatus::kBuckets, r.convergence, static_cast<double>(load(r.convergence_sum_ms)) / 1000.0,
            load(r.convergence_count));
}

}  // namespace

std::size_t method_slot(std::string_view method) {
  auto it = std::find(kMetricMethods.begin(), kMetricMethods.end() - 1, method);
  return static_cast<std::size_t>(it - kMetricMethods.begin());
}

void GatewayMetrics::observe(std::string_view method, unsigned status, double seconds) {
  std::size_t cls = status >= 100 && status < 600 ? status / 100 : 0;
  responses[method_slot(method)][cls].fetch_add(1, std::memory_order_relaxed);
  auto it = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  latency[static_cast<std::size_t>(it - kBuckets.begin())].fetch_add(1, std::memory_order_relaxed);
  latency_count.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::string GatewayMetrics::render(BackendPool const& pool, std::int64_t now_ms) const {
  std::string out;
  render_traffic(*this, out);
  render_websockets(*this, out);
  render_limits(*this, out);
  render_control(*this, out);
  render_backends(*pool.snapshot(), now_ms, out);
  if (registry != nullptr) render_registry(*registry, now_ms, out);
  core::render_process_metrics(out, "gateway");
  return out;
}

}  // namespace outboard::gateway
