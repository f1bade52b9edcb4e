#include "support/redis_cluster.hpp"

#include <memory>
#include <mutex>

#include "support/store_engines.hpp"

namespace outboard::testing {

RedisCluster& shared_redis_cluster() {
  // Process-wide on purpose (a test fixture, not product code): starting 6 servers per test
  // would cost seconds each. Destroyed at exit, which stops every node by pid.
  static std::mutex lock;
  static std::unique_ptr<RedisCluster> cluster;
  std::lock_guard guard(lock);
  if (!cluster) cluster = std::make_unique<RedisCluster>();
  return *cluster;
}

std::string fresh_redis_cluster_url() {
  RedisCluster& cluster = shared_redis_cluster();
  cluster.flush_all();
  return cluster.url();
}

}  // namespace outboard::testing
