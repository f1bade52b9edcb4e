#include "support/postgres_server.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lab/child_process.hpp"
#include "support/free_port.hpp"
#include "support/store_engines.hpp"

namespace outboard::testing {
namespace {

constexpr char const* kBin = "/usr/lib/postgresql/15/bin/";
constexpr char const* kSuperuser = "outboard";
constexpr char const* kRunAs = "postgres";  // Debian's package creates this user
constexpr int kStartTimeoutMs = 15'000;
constexpr int kStepTimeoutMs = 30'000;

std::string bin(char const* program) { return std::string(kBin) + program; }

// PostgreSQL refuses to run as root: as root, the command runs as the postgres user. setpriv
// changes ids and execs in place, so the pid stays the program's own.
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> out{"/usr/bin/setpriv", std::string("--reuid=") + kRunAs,
                               std::string("--regid=") + kRunAs, "--clear-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void give_to_server_user(std::filesystem::path const& dir) {
  if (::geteuid() != 0) return;
  passwd const* user = ::getpwnam(kRunAs);
  if (!user) throw std::runtime_error("running as root, but there is no 'postgres' user to run PostgreSQL as");
  if (::chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + dir.string() + " to postgres");
  }
}

std::string read_text_file(std::filesystem::path const& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a program to its end; throws with its output when it fails.
void run_to_end(std::vector<std::string> argv, std::filesystem::path const& log, std::string const& what) {
  ChildProcess child(std::move(argv), {}, log);
  auto code = child.wait(kStepTimeoutMs);
  if (code != 0) throw std::runtime_error(what + " failed; log:\n" + lab::log_tail(log, 2000));
}

}  // namespace

PostgresServer::PostgresServer() : port_(free_port()) {
  if (!std::filesystem::exists(bin("postgres"))) {
    throw std::runtime_error(bin("postgres") + " is missing: install Debian's postgresql-15 (the tests need a real one)");
  }
  give_to_server_user(dir_.path());
  run_to_end(as_server_user({bin("initdb"), "-D", data_dir().string(), "--no-sync", "--auth=trust", "-U",
                             kSuperuser, "-E", "UTF8", "--locale=C", "--no-instructions"}),
             dir_ / "initdb.log", "initdb");
  start();
  psql("CREATE DATABASE outboard", "postgres");
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
    // the ChildProcess destructor SIGKILLs what is left
  }
}

std::string PostgresServer::url(std::string const& database) const {
  return "postgres://" + std::string(kSuperuser) + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresServer::start() {
  // Durability is not what these tests measure: no fsync, small buffers, few connections, TCP
  // on loopback only (no unix socket, whose directory root could not share with postgres).
  std::vector<std::string> argv{bin("postgres"), "-D", data_dir().string(), "-p", std::to_string(port_),
                                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                                "-c", "fsync=off", "-c", "synchronous_commit=off",
                                "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                                "-c", "max_connections=40", "-c", "max_wal_size=256MB"};
  postmaster_ = std::make_unique<ChildProcess>(as_server_user(std::move(argv)),
                                               std::map<std::string, std::string>{}, dir_ / "postgres.log");
  wait_until_accepting();
}

void PostgresServer::wait_until_accepting() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  for (;;) {
    ChildProcess ready({bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", kSuperuser});
    if (ready.wait(kStepTimeoutMs) == 0) return;
    if (!postmaster_->running() || std::chrono::steady_clock::now() >= deadline) {
      postmaster_.reset();
      throw std::runtime_error("postgres on port " + std::to_string(port_) +
                               " did not start; log:\n" + lab::log_tail(dir_ / "postgres.log", 2000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void PostgresServer::stop() {
  if (!postmaster_ || !postmaster_->running()) return;
  postmaster_->signal(SIGINT);  // fast shutdown
  if (!postmaster_->wait(kStepTimeoutMs)) throw std::runtime_error("postgres ignored SIGINT");
}

bool PostgresServer::running() { return postmaster_ && postmaster_->running(); }

std::string PostgresServer::psql(std::string const& sql, std::string const& database) {
  auto out = dir_ / ("psql-" + std::to_string(++runs_) + ".out");
  ChildProcess child({bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                      std::to_string(port_), "-U", kSuperuser, "-d", database, "-c", sql},
                     {}, out);
  auto code = child.wait(kStepTimeoutMs);
  std::string text = read_text_file(out);
  std::filesystem::remove(out);
  if (code != 0) throw std::runtime_error("psql '" + sql + "' failed: " + text);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string PostgresServer::create_database() {
  std::string name = "fresh" + std::to_string(++databases_);
  psql("CREATE DATABASE " + name, "postgres");
  return name;
}

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
