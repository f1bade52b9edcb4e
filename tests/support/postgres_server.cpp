#include "support/postgres_server.hpp"

#include "support/store_engines.hpp"

namespace outboard::testing {

PostgresServer& shared_postgres() {
  static PostgresServer server;
  return server;
}

std::string fresh_postgres_url() {
  PostgresServer& server = shared_postgres();
  // Every table but the migrations' record emptied, so the schema is not rebuilt for every test.
  // DELETE rather than TRUNCATE: on tables this small it is the cheaper of the two (TRUNCATE
  // makes new files for each table and its indexes).
  server.psql(
      "DO $$ DECLARE t text; BEGIN "
      "FOR t IN SELECT quote_ident(tablename) FROM pg_tables "
      "WHERE schemaname = 'public' AND tablename <> 'outboard_schema_migrations' LOOP "
      "EXECUTE 'DELETE FROM ' || t; END LOOP; END $$");
  return server.url();
}

}  // namespace outboard::testing
