#include "state/redis_cluster/redis_cluster_store.hpp"

#include <spdlog/spdlog.h>

#include "state/redis/redis_router.hpp"
#include "state/redis_cluster/cluster_router.hpp"

namespace outboard::state {
namespace {

// Each worker thread gets its own router (slot map and one connection per master) and store.
// No near-cache on a cluster: its invalidations would need a tracking connection per master.
class RedisClusterProvider final : public StoreProvider {
 public:
  RedisClusterProvider(StoreUrl const& url, StoreOptions const& options)
      : password_(url.password), command_timeout_(options.command_timeout) {
    for (auto const& [host, port] : url.nodes) seeds_.push_back({host, port});
    if (seeds_.empty()) seeds_.push_back({url.host, url.port});
    if (options.near_cache_keys != 0) {
      spdlog::warn("redis-cluster: the near-cache is not available on a cluster; reads go to Redis");
    }
  }

  std::string_view backend() const override { return "redis-cluster"; }

  std::shared_ptr<Store> store_for(boost::asio::any_io_executor executor) override {
    auto router = std::make_shared<redis_cluster::ClusterRouter>(executor, seeds_, password_, command_timeout_);
    return make_routed_redis_store(std::move(executor), std::move(router), "redis-cluster");
  }

 private:
  std::vector<redis_cluster::NodeAddress> seeds_;
  std::string password_;
  core::Millis command_timeout_;
};

}  // namespace

std::unique_ptr<StoreProvider> make_redis_cluster_provider(StoreUrl const& url, StoreOptions const& options) {
  return std::make_unique<RedisClusterProvider>(url, options);
}

}  // namespace outboard::state
