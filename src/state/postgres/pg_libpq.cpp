#include "state/postgres/pg_libpq.hpp"

#include <algorithm>
#include <string_view>

namespace outboard::state {
namespace {

std::string one_line(char const* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out.empty() ? "unknown error" : out;
}

}  // namespace

PgConnectParams::PgConnectParams(std::string const& url, core::Millis connect_timeout,
                                 std::string application_name, std::string options) {
  // libpq counts connect_timeout in whole seconds and treats values under 2 as 2.
  auto seconds = std::max<long long>(2, (connect_timeout.count() + 999) / 1000);
  // TCP keepalives and a user timeout: a connection whose peer vanished without a FIN or a reset
  // (a partition, a host that died) is found dead in about 20 s instead of never. The feed reader
  // waits on its LISTEN connection with no deadline of its own, and a blocking call on a dead
  // link would otherwise wait for the kernel's default of many minutes.
  storage_ = {"dbname", url, "connect_timeout", std::to_string(seconds), "application_name",
              std::move(application_name), "keepalives", "1", "keepalives_idle", "10", "keepalives_interval", "3",
              "keepalives_count", "3", "tcp_user_timeout", "20000"};
  if (!options.empty()) {
    storage_.emplace_back("options");
    storage_.push_back(std::move(options));
  }
  for (std::size_t i = 0; i < storage_.size(); i += 2) {
    keywords_.push_back(storage_[i].c_str());
    values_.push_back(storage_[i + 1].c_str());
  }
  keywords_.push_back(nullptr);
  values_.push_back(nullptr);
}

std::string pg_connection_message(PGconn const* conn) {
  return one_line(conn ? PQerrorMessage(conn) : "out of memory");
}

core::Error pg_result_error(PGresult const* result, std::string const& where) {
  char const* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string_view sqlstate = state ? state : "";
  char const* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = one_line(primary ? primary : PQresultErrorMessage(result));
  if (sqlstate == "OBWRT" || sqlstate == "OBINT") return core::make_error(core::Errc::invalid, message);
  std::string context = where + ": " + message + " (SQLSTATE " + std::string(sqlstate) + ")";
  // 57014: statement_timeout (or a cancel) ended the statement.
  if (sqlstate == "57014") return core::make_error(core::Errc::timeout, context);
  // 42 syntax or undefined object, 22 data, 23 constraint, XX internal: our bug, not an outage.
  auto cls = sqlstate.substr(0, 2);
  if (cls == "42" || cls == "22" || cls == "23" || cls == "XX" || cls == "P0") {
    return core::make_error(core::Errc::internal, context);
  }
  // 08 connection, 57P0x shutdown or not yet started, 53 resources, 40 serialization / deadlock...
  return core::make_error(core::Errc::unavailable, context);
}

core::Result<PgRows> pg_rows(PGresult const* result, std::string const& where) {
  auto status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return pg_result_error(result, where);
  PgRows out;
  int const rows = PQntuples(result);
  int const columns = PQnfields(result);
  out.rows.resize(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    auto& row = out.rows[static_cast<std::size_t>(r)];
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result, r, c)) {
        row.emplace_back();
      } else {
        row.emplace_back(std::string(PQgetvalue(result, r, c), static_cast<std::size_t>(PQgetlength(result, r, c))));
      }
    }
  }
  return out;
}

}  // namespace outboard::state
