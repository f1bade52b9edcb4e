#pragma once
// redis-cluster://host:port[,host:port...]: sessions and hot state on a Redis Cluster
// (docs/STATE.md). The slot map comes from the cluster; MOVED and ASK are followed.
#include <memory>

#include "state/store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<StoreProvider> make_redis_cluster_provider(StoreUrl const& url, StoreOptions const& options);

}  // namespace outboard::state
