#include <stdexcept>

#include "state/memory/memory_store.hpp"
#include "state/postgres/postgres_store.hpp"
#include "state/redis/redis_store.hpp"
#include "state/redis_cluster/redis_cluster_store.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "state/store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<StoreProvider> open_store(std::string_view url, StoreOptions const& options) {
  auto parsed = parse_store_url(url);
  if (!parsed) throw std::invalid_argument(parsed.error().context);
  if (parsed->scheme == "memory") return make_memory_provider(options);
  if (parsed->scheme == "sqlite") return make_sqlite_provider(parsed->path, options);
  if (parsed->scheme == "redis") return make_redis_provider(*parsed, options);
  if (parsed->scheme == "redis-cluster") return make_redis_cluster_provider(*parsed, options);
  if (parsed->scheme == "postgres") return make_postgres_provider(*parsed, options);
  throw std::invalid_argument("store URL '" + redact_store_url(url) + "': '" + parsed->scheme +
                              "' is a blob store scheme, not a state store");
}

}  // namespace outboard::state
