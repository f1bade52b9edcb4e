#pragma once
// What every postgres:// provider (store, job queue, feed) does when it is opened: the endpoint
// its connections will use, and the schema brought up to date first.
#include "state/postgres/pg_connection.hpp"
#include "state/store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Runs the schema migrations (blocking: start-up only) and answers the endpoint for the
// provider's connections. Throws std::runtime_error naming the URL without its password when
// the database cannot be reached or is newer than this build.
PgEndpoint open_postgres_database(StoreUrl const& url, StoreOptions const& options);

}  // namespace outboard::state
