#include "state/postgres/pg_migrations.hpp"

#include <memory>
#include <stdexcept>

#include "state/postgres/pg_libpq.hpp"
#include "state/store_url.hpp"

namespace outboard::state {
namespace {

// Held by every migrating transaction: servers starting at once take turns, and each sees the
// versions the previous one recorded. (An arbitrary constant: "outboard" in ASCII.)
constexpr char const* kLockMigrations = "SELECT pg_advisory_xact_lock(7959390227665232996)";
constexpr char const* kCreateTable =
    "CREATE TABLE IF NOT EXISTS outboard_schema_migrations("
    "version integer PRIMARY KEY, name text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT clock_timestamp())";
constexpr char const* kCurrentVersion =
    "SELECT coalesce(max(version), 0) FROM outboard_schema_migrations";
constexpr char const* kRecord = "INSERT INTO outboard_schema_migrations(version, name) VALUES ($1::integer, $2)";

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Res = std::unique_ptr<PGresult, ResultDeleter>;

class Migrator {
 public:
  Migrator(std::string const& url, core::Millis timeout) : where_("postgres '" + redact_store_url(url) + "'") {
    PgConnectParams params(url, timeout, "outboard-migrations");
    conn_.reset(PQconnectdbParams(params.keywords(), params.values(), 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      fail("cannot connect: " + pg_connection_message(conn_.get()));
    }
    // Migrations may print NOTICEs (IF NOT EXISTS); they are not errors and not worth a log line.
    PQsetNoticeProcessor(conn_.get(), [](void*, char const*) {}, nullptr);
  }

  // Runs `sql` (text, several statements allowed when there are no parameters).
  Res exec(char const* sql, std::vector<std::string> const& params = {}) {
    std::vector<char const*> values;
    for (auto const& p : params) values.push_back(p.c_str());
    Res r(params.empty() ? PQexec(conn_.get(), sql)
                         : PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr,
                                        values.data(), nullptr, nullptr, 0));
    auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string why = r ? pg_result_error(r.get(), where_).context : pg_connection_message(conn_.get());
      if (PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) PQclear(PQexec(conn_.get(), "ROLLBACK"));
      fail(why);
    }
    return r;
  }

  // Begins a locked transaction and answers the database's schema version in it.
  int begin() {
    exec("BEGIN");
    exec(kLockMigrations);
    exec(kCreateTable);
    Res r = exec(kCurrentVersion);
    return std::stoi(PQgetvalue(r.get(), 0, 0));
  }

  [[noreturn]] void fail(std::string const& why) const { throw std::runtime_error(where_ + ": " + why); }

 private:
  std::string where_;
  Conn conn_;
};

}  // namespace

MigrationReport run_migrations(std::string const& url, core::Millis timeout) {
  Migrator db(url, timeout);
  int const newest = migrations().back().version;
  MigrationReport report;
  for (Migration const& m : migrations()) {
    int version = db.begin();
    if (version > newest) {
      db.exec("ROLLBACK");
      db.fail("the database's schema version " + std::to_string(version) +
              " is newer than this build understands (" + std::to_string(newest) +
              "): upgrade outboard before pointing it at this database");
    }
    if (m.version <= version) {
      db.exec("COMMIT");
      report.database_version = version;
      continue;
    }
    db.exec(m.sql);
    db.exec(kRecord, {std::to_string(m.version), m.name});
    db.exec("COMMIT");
    report.applied.push_back(m.version);
    report.database_version = m.version;
  }
  return report;
}

}  // namespace outboard::state
