#include <stdexcept>

#include "state/feed.hpp"
#include "state/memory/memory_feed.hpp"
#include "state/postgres/pg_feed.hpp"
#include "state/redis/redis_feed.hpp"
#include "state/redis_cluster/cluster_feed.hpp"
#include "state/sqlite/sqlite_feed.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<FeedProvider> open_feed(std::string_view url, StoreOptions const& store, FeedOptions const& options) {
  auto parsed = parse_store_url(url);
  if (!parsed) throw std::invalid_argument(parsed.error().context);
  if (parsed->scheme == "memory") return make_memory_feed(store, options);
  if (parsed->scheme == "sqlite") return make_sqlite_feed(parsed->path, store, options);
  if (parsed->scheme == "redis") return make_redis_feed(*parsed, store, options);
  if (parsed->scheme == "postgres") return make_postgres_feed(*parsed, store, options);
  if (parsed->scheme == "redis-cluster") return make_redis_cluster_feed(*parsed, store, options);
  throw std::invalid_argument("feed URL '" + redact_store_url(url) + "': '" + parsed->scheme +
                              "' is a blob store scheme, it has no room feed");
}

}  // namespace outboard::state
