#pragma once
// postgres://user[:password]@host:port/db: the Store in PostgreSQL through libpq (docs/STATE.md).
// Opening runs the schema migrations (blocking, start-up only) and throws std::runtime_error
// naming the URL without its password when the database cannot be reached or is newer than this
// build. Each worker thread then gets its own asynchronous connection, made on its first call.
#include <memory>

#include "state/store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<StoreProvider> make_postgres_provider(StoreUrl const& url, StoreOptions const& options);

}  // namespace outboard::state
