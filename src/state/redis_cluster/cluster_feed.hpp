#pragma once
// redis-cluster://'s room feed: redis://'s (state/redis/redis_feed.hpp) over the cluster. A room's
// keys share its hash tag, rt:{ROOM}:..., so its append script and its reads run on the one master
// that owns the slot, routed as the store's commands are (MOVED, ASK, a map refreshed after a
// failover). The script's PUBLISH reaches subscribers on every node of a cluster, so the process's
// one reader subscribes on any node: the first seed, then the next one whenever its link drops.
#include <memory>

#include "state/feed.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Does not connect: each worker thread's router connects on first use, the reader on start().
std::unique_ptr<FeedProvider> make_redis_cluster_feed(StoreUrl const& url, StoreOptions const& store,
                                                      FeedOptions const& options);

}  // namespace outboard::state
