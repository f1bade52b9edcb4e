#include "state/postgres/pg_database.hpp"

#include <algorithm>

#include "state/postgres/pg_migrations.hpp"

namespace outboard::state {

PgEndpoint open_postgres_database(StoreUrl const& url, StoreOptions const& options) {
  PgEndpoint endpoint;
  endpoint.url = url.raw;
  endpoint.redacted = redact_store_url(url.raw);
  endpoint.command_timeout = options.command_timeout;
  // A server that cannot reach its database, or finds one newer than itself, refuses to start
  // with the reason. Migrations may take longer than one command: they get at least 10 s.
  run_migrations(endpoint.url, std::max(options.command_timeout, core::Millis(10'000)));
  return endpoint;
}

}  // namespace outboard::state
