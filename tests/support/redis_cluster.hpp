#pragma once
// The tests' private Redis Cluster: the lab's engine (lab/redis_cluster_engine.hpp: 6 nodes, 3
// masters and 3 replicas on free loopback ports) in a temp dir of its own, removed afterwards.
// Fails the test (never skips) when redis-server or redis-cli is missing.
#include "lab/redis_cluster_engine.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

namespace detail {
struct RedisClusterDir {
  TempDir dir;  // a base of RedisCluster, so it is made before the nodes and removed after them
};
}  // namespace detail

class RedisCluster : private detail::RedisClusterDir, public lab::RedisClusterEngine {
 public:
  explicit RedisCluster(int node_timeout_ms = 1000) : lab::RedisClusterEngine(dir.path() / "cluster", node_timeout_ms) {}
};

// The process's shared cluster (what fresh_redis_cluster_url() empties and names), started on
// first use. For tests that move slots around; a test that kills nodes makes its own.
RedisCluster& shared_redis_cluster();

}  // namespace outboard::testing
