#include "state/redis/redis_store.hpp"

#include <stdexcept>

namespace outboard::state {
// Placeholder until the redis backend lands.
std::unique_ptr<StoreProvider> make_redis_provider(StoreUrl const& url, StoreOptions const&) {
  throw std::runtime_error("redis backend not built yet: " + url.host);
}
}  // namespace outboard::state
