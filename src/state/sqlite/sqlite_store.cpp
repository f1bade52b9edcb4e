#include "state/sqlite/sqlite_store.hpp"

#include <stdexcept>

namespace outboard::state {
// Placeholder until the sqlite backend lands.
std::unique_ptr<StoreProvider> make_sqlite_provider(std::string const& path, StoreOptions const&) {
  throw std::runtime_error("sqlite backend not built yet: " + path);
}
}  // namespace outboard::state
