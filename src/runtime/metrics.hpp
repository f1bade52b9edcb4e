#pragma once
// Prometheus metrics of a service. Share-nothing: every worker thread writes its own shard
// (relaxed atomics, no contention); a scrape of /metrics sums the shards. Every slot is laid out
// at start-up (routes and store operations are known then), so the hot path never allocates.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/router.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

// Upper bounds in seconds, Prometheus "le" labels; +Inf is implicit.
inline constexpr std::array<double, 12> kLatencyBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                        0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

// Status codes with a slot of their own; anything else counts as "other".
inline constexpr std::array<unsigned, 19> kStatuses{200, 201, 204, 304, 400, 401, 403, 404, 405, 408,
                                                    409, 413, 415, 422, 429, 431, 500, 503, 504};

class Histogram {
 public:
  void observe(double seconds);
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last: +Inf
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_ns{0};
};

// Store operations that are timed, by name.
inline constexpr std::array<std::string_view, 16> kStoreOps{
    "ping", "get", "set", "set_if_absent", "del", "expire", "pttl", "compare_and_set",
    "incr_by", "hget", "hgetall", "hset", "hdel", "list_push", "list_range", "commit_if"};

// What an Idempotency-Key did to a request (runtime/idempotency.hpp), by label.
enum class KeyOutcome : std::size_t { ran, replayed, in_progress, reused };
inline constexpr std::array<std::string_view, 4> kKeyOutcomes{"ran", "replayed", "in_progress", "reused"};

class ServiceMetrics {
 public:
  // routes: Router::names(), each series labelled route="<template>",method="<METHOD>"; route and
  // method "other" are added for requests no route took (health, metrics, 404s: a client's
  // method or path never becomes a label, so the set of series stays bounded).
  // stores: the store roles ("sessions", "data"). One shard per thread.
  ServiceMetrics(std::vector<Router::RouteName> routes, std::vector<std::string> stores, int threads);
  ~ServiceMetrics();

  struct Shard;
  Shard& shard(int thread);

  // route: index from Router::Match, or -1 for requests no route took. Bytes are bodies' bytes.
  static void count_request(Shard& shard, int route, unsigned status, double seconds, std::uint64_t request_bytes,
                            std::uint64_t response_bytes);
  static void count_store(Shard& shard, int store, std::size_t op, double seconds, bool failed);
  static void count_key(Shard& shard, KeyOutcome outcome);

  int store_index(std::string const& label) const;
  // Prometheus text exposition format 0.0.4, every family with HELP and TYPE.
  std::string render() const;

 private:
  std::string route_labels(std::size_t route) const;
  void render_requests(std::string& out) const;
  void render_stores(std::string& out) const;

  std::vector<Router::RouteName> routes_;
  std::vector<std::string> stores_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

// The redis near-caches' counters (docs/STATE.md), labelled by store role; nothing when there
// are none. With one URL for sessions and data, their one cache is labelled "sessions".
void render_near_caches(std::string& out, std::vector<std::pair<std::string, state::NearCacheStats>> const& caches);

}  // namespace outboard::runtime
