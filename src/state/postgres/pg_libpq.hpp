#pragma once
// libpq details shared by the backend's sources (never included outside src/state/postgres/).
#include <libpq-fe.h>

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "state/postgres/pg_codec.hpp"

namespace outboard::state {

// The keyword/value arrays PQconnectdbParams and PQconnectStartParams take: the URL itself
// (expand_dbname = 1 makes libpq parse it), a connect timeout, our application name and, when
// given, server-side options ("-c statement_timeout=...").
class PgConnectParams {
 public:
  // application_name tells the store's connections ("outboard") from the start-up migrations'
  // ("outboard-migrations") in pg_stat_activity.
  PgConnectParams(std::string const& url, core::Millis connect_timeout, std::string application_name,
                  std::string options = {});
  char const* const* keywords() const { return keywords_.data(); }
  char const* const* values() const { return values_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char const*> keywords_;
  std::vector<char const*> values_;
};

// libpq's message for a failed connection, on one line.
std::string pg_connection_message(PGconn const* conn);

// The error a failed statement's result stands for: Errc::invalid for the store's own
// SQLSTATEs (a key of another type, not an integer), Errc::timeout for a cancelled statement,
// Errc::unavailable for connection and server-shutdown errors and the rest (a store that cannot
// do its work answers 503). `where` names the store (URL without password).
core::Error pg_result_error(PGresult const* result, std::string const& where);

// A statement's rows (binary values as sent), or its error (pg_result_error) when it failed.
core::Result<PgRows> pg_rows(PGresult const* result, std::string const& where);

}  // namespace outboard::state
