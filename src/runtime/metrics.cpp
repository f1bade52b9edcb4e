#include "runtime/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace outboard::runtime {

struct ServiceMetrics::Shard {
  Shard(std::size_t routes, std::size_t stores)
      : requests(routes * (kStatuses.size() + 1)),
        request_bytes(routes),
        response_bytes(routes),
        latency(routes),
        store_latency(stores * kStoreOps.size()),
        store_errors(stores * kStoreOps.size()) {}
  std::vector<std::atomic<std::uint64_t>> requests;  // [route][status slot]
  std::vector<std::atomic<std::uint64_t>> request_bytes;   // [route]
  std::vector<std::atomic<std::uint64_t>> response_bytes;  // [route]
  std::vector<Histogram> latency;                    // [route]
  std::vector<Histogram> store_latency;              // [store][op]
  std::vector<std::atomic<std::uint64_t>> store_errors;
  std::array<std::atomic<std::uint64_t>, kKeyOutcomes.size()> keys{};
};

void Histogram::observe(double seconds) {
  auto it = std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds);
  buckets[static_cast<std::size_t>(it - kLatencyBuckets.begin())].fetch_add(1, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

ServiceMetrics::ServiceMetrics(std::vector<Router::RouteName> routes, std::vector<std::string> stores, int threads)
    : routes_(std::move(routes)), stores_(std::move(stores)) {
  routes_.push_back({"other", "other"});
  for (int i = 0; i < threads; ++i) shards_.push_back(std::make_unique<Shard>(routes_.size(), stores_.size()));
}

ServiceMetrics::~ServiceMetrics() = default;

ServiceMetrics::Shard& ServiceMetrics::shard(int thread) { return *shards_.at(static_cast<std::size_t>(thread)); }

int ServiceMetrics::store_index(std::string const& label) const {
  auto it = std::find(stores_.begin(), stores_.end(), label);
  return it == stores_.end() ? -1 : static_cast<int>(it - stores_.begin());
}

void ServiceMetrics::count_request(Shard& shard, int route, unsigned status, double seconds,
                                   std::uint64_t request_bytes, std::uint64_t response_bytes) {
  std::size_t r = route < 0 ? shard.latency.size() - 1 : static_cast<std::size_t>(route);
  auto it = std::find(kStatuses.begin(), kStatuses.end(), status);
  std::size_t slot = static_cast<std::size_t>(it - kStatuses.begin());  // == size(): "other"
  shard.requests[r * (kStatuses.size() + 1) + slot].fetch_add(1, std::memory_order_relaxed);
  shard.request_bytes[r].fetch_add(request_bytes, std::memory_order_relaxed);
  shard.response_bytes[r].fetch_add(response_bytes, std::memory_order_relaxed);
  shard.latency[r].observe(seconds);
}

void ServiceMetrics::count_store(Shard& shard, int store, std::size_t op, double seconds, bool failed) {
  if (store < 0) return;
  std::size_t i = static_cast<std::size_t>(store) * kStoreOps.size() + op;
  shard.store_latency[i].observe(seconds);
  if (failed) shard.store_errors[i].fetch_add(1, std::memory_order_relaxed);
}

void ServiceMetrics::count_key(Shard& shard, KeyOutcome outcome) {
  shard.keys[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

namespace {

std::uint64_t load(std::atomic<std::uint64_t> const& a) { return a.load(std::memory_order_relaxed); }

void render_histogram(std::string& out, std::string_view name, std::string const& labels,
                      std::vector<Histogram const*> const& parts) {
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
    for (auto* h : parts) cumulative += load(h->buckets[b]);
    std::string le = b < kLatencyBuckets.size() ? fmt::format("{}", kLatencyBuckets[b]) : "+Inf";
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, le, cumulative);
  }
  std::uint64_t count = 0, sum = 0;
  for (auto* h : parts) {
    count += load(h->count);
    sum += load(h->sum_ns);
  }
  out += fmt::format("{}_sum{{{}}} {:.9f}\n", name, labels, static_cast<double>(sum) / 1e9);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, count);
}

}  // namespace

std::string ServiceMetrics::route_labels(std::size_t route) const {
  return fmt::format("route=\"{}\",method=\"{}\"", routes_[route].pattern, routes_[route].method);
}

void ServiceMetrics::render_requests(std::string& out) const {
  out += "# HELP outboard_http_requests_total Requests answered, by route template, method and status.\n";
  out += "# TYPE outboard_http_requests_total counter\n";
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      std::uint64_t n = 0;
      for (auto const& shard : shards_) n += load(shard->requests[r * (kStatuses.size() + 1) + s]);
      if (n == 0) continue;
      std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      out += fmt::format("outboard_http_requests_total{{{},status=\"{}\"}} {}\n", route_labels(r), status, n);
    }
  }
  auto render_bytes = [&](std::string_view name, std::string_view help, auto member) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (std::size_t r = 0; r < routes_.size(); ++r) {
      std::uint64_t n = 0;
      for (auto const& shard : shards_) n += load(((*shard).*member)[r]);
      out += fmt::format("{}{{{}}} {}\n", name, route_labels(r), n);
    }
  };
  render_bytes("outboard_http_request_bytes_total", "Request body bytes received, by route template and method.",
               &Shard::request_bytes);
  render_bytes("outboard_http_response_bytes_total", "Response body bytes sent, by route template and method.",
               &Shard::response_bytes);
  out += "# HELP outboard_http_request_duration_seconds Time from a complete request to its answer.\n";
  out += "# TYPE outboard_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    std::vector<Histogram const*> parts;
    for (auto const& shard : shards_) parts.push_back(&shard->latency[r]);
    render_histogram(out, "outboard_http_request_duration_seconds", route_labels(r), parts);
  }
}

void ServiceMetrics::render_stores(std::string& out) const {
  out += "# HELP outboard_store_operation_duration_seconds State store operations, by store and operation.\n";
  out += "# TYPE outboard_store_operation_duration_seconds histogram\n";
  std::string errors;
  for (std::size_t st = 0; st < stores_.size(); ++st) {
    for (std::size_t op = 0; op < kStoreOps.size(); ++op) {
      std::size_t i = st * kStoreOps.size() + op;
      std::vector<Histogram const*> parts;
      std::uint64_t failed = 0, count = 0;
      for (auto const& shard : shards_) {
        parts.push_back(&shard->store_latency[i]);
        failed += load(shard->store_errors[i]);
        count += load(shard->store_latency[i].count);
      }
      if (count == 0) continue;
      std::string labels = fmt::format("store=\"{}\",op=\"{}\"", stores_[st], kStoreOps[op]);
      render_histogram(out, "outboard_store_operation_duration_seconds", labels, parts);
      errors += fmt::format("outboard_store_errors_total{{{}}} {}\n", labels, failed);
    }
  }
  out += "# HELP outboard_store_errors_total State store operations that failed (unreachable, timeout, ...).\n";
  out += "# TYPE outboard_store_errors_total counter\n";
  out += errors;
}

std::string ServiceMetrics::render() const {
  std::string out;
  render_requests(out);
  render_stores(out);
  // Every outcome, zeros included: a replay counter that appears only after the first replay
  // would read as "no data" rather than "none yet".
  out += "# HELP outboard_idempotency_requests_total Requests with an Idempotency-Key: the handler ran, the first "
         "answer was replayed, the first run was still in progress (409), or the key came with another request (422).\n";
  out += "# TYPE outboard_idempotency_requests_total counter\n";
  for (std::size_t o = 0; o < kKeyOutcomes.size(); ++o) {
    std::uint64_t n = 0;
    for (auto const& shard : shards_) n += load(shard->keys[o]);
    out += fmt::format("outboard_idempotency_requests_total{{outcome=\"{}\"}} {}\n", kKeyOutcomes[o], n);
  }
  return out;
}

void render_near_caches(std::string& out, std::vector<std::pair<std::string, state::NearCacheStats>> const& caches) {
  if (caches.empty()) return;
  struct Family {
    std::string_view name, type, help;
    std::uint64_t (*value)(state::NearCacheStats const&);
  };
  static constexpr std::array<Family, 6> kFamilies{{
      {"outboard_near_cache_hits_total", "counter", "Reads answered from the near-cache, without a store command.",
       [](state::NearCacheStats const& s) { return s.hits; }},
      {"outboard_near_cache_misses_total", "counter", "Reads that went to the store (bypassed ones included).",
       [](state::NearCacheStats const& s) { return s.misses; }},
      {"outboard_near_cache_invalidations_total", "counter", "Keys Redis reported changed (CLIENT TRACKING).",
       [](state::NearCacheStats const& s) { return s.invalidations; }},
      {"outboard_near_cache_flushes_total", "counter",
       "Whole-cache flushes: the invalidation or a data connection lost, or a database flushed.",
       [](state::NearCacheStats const& s) { return s.flushes; }},
      {"outboard_near_cache_entries", "gauge", "Keys held in the near-cache, placeholders included.",
       [](state::NearCacheStats const& s) { return s.entries; }},
      {"outboard_near_cache_linked", "gauge", "1 while the invalidation connection is subscribed (else reads bypass).",
       [](state::NearCacheStats const& s) { return std::uint64_t{s.linked}; }},
  }};
  for (auto const& family : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name, family.type);
    for (auto const& [store, stats] : caches) {
      out += fmt::format("{}{{store=\"{}\"}} {}\n", family.name, store, family.value(stats));
    }
  }
}

}  // namespace outboard::runtime
