#include "state/redis_cluster/cluster_feed.hpp"

#include <string>
#include <utility>
#include <vector>

#include "state/redis/redis_feed.hpp"
#include "state/redis_cluster/cluster_router.hpp"

namespace outboard::state {

std::unique_ptr<FeedProvider> make_redis_cluster_feed(StoreUrl const& url, StoreOptions const& store,
                                                      FeedOptions const& options) {
  std::vector<redis_cluster::NodeAddress> seeds = redis_cluster::seed_nodes(url);
  std::vector<RedisEndpoint> reader_nodes;
  for (auto const& seed : seeds) {
    RedisEndpoint node;
    node.host = seed.host;
    node.port = seed.port;
    node.password = url.password;
    node.command_timeout = store.command_timeout;
    reader_nodes.push_back(std::move(node));
  }
  RouterFactory router_for = [seeds, password = url.password,
                              timeout = store.command_timeout](boost::asio::any_io_executor executor) {
    return std::make_shared<redis_cluster::ClusterRouter>(std::move(executor), seeds, password, timeout);
  };
  return make_routed_redis_feed(std::move(router_for), std::move(reader_nodes), options, "redis-cluster");
}

}  // namespace outboard::state
