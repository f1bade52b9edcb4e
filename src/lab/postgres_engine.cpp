#include "lab/postgres_engine.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lab/free_port.hpp"

namespace outboard::lab {
namespace {

constexpr char const* kBin = "/usr/lib/postgresql/15/bin/";
constexpr char const* kSuperuser = "outboard";
constexpr char const* kRunAs = "postgres";  // Debian's package creates this user
constexpr auto kStartTimeout = std::chrono::seconds(15);
constexpr auto kStepTimeout = std::chrono::seconds(30);

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

// Runs a program to its end; throws with its output when it fails.
void run_to_end(std::vector<std::string> argv, std::filesystem::path const& log, std::string const& what) {
  ChildProcess child(std::move(argv), log);
  auto code = child.wait_blocking(kStepTimeout);
  if (code != 0) throw std::runtime_error(what + " failed; log:\n" + log_tail(log, 2000));
}

}  // namespace

PostgresEngine::PostgresEngine(std::filesystem::path dir) : dir_(std::move(dir)), port_(free_port()) {
  if (!std::filesystem::exists(bin("postgres"))) {
    throw std::runtime_error(bin("postgres") + " is missing: install Debian's postgresql-15 (scripts/setup.sh does)");
  }
  std::filesystem::create_directories(dir_);
  give_to_server_user(dir_);
  run_to_end(as_server_user({bin("initdb"), "-D", data_dir().string(), "--no-sync", "--auth=trust", "-U",
                             kSuperuser, "-E", "UTF8", "--locale=C", "--no-instructions"}),
             dir_ / "initdb.log", "initdb");
  start();
  psql("CREATE DATABASE outboard", "postgres");
}

PostgresEngine::~PostgresEngine() {
  try {
    stop();
  } catch (...) {
    // the ChildProcess destructor SIGKILLs what is left
  }
}

std::string PostgresEngine::url(std::string const& database) const {
  return "postgres://" + std::string(kSuperuser) + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresEngine::begin_start() {
  // No fsync, small buffers, few connections, TCP on loopback only (no unix socket, whose
  // directory root could not share with postgres).
  std::vector<std::string> argv{bin("postgres"), "-D", data_dir().string(), "-p", std::to_string(port_),
                                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                                "-c", "fsync=off", "-c", "synchronous_commit=off",
                                "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                                "-c", "max_connections=60", "-c", "max_wal_size=256MB"};
  postmaster_ = std::make_unique<ChildProcess>(as_server_user(std::move(argv)), log_file());
}

void PostgresEngine::start() {
  begin_start();
  wait_until_accepting();
}

bool PostgresEngine::accepting() {
  ChildProcess ready({bin("pg_isready"), "-q", "-t", "5", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                      kSuperuser},
                     dir_ / "pg_isready.out");
  return ready.wait_blocking(kStepTimeout) == 0;
}

void PostgresEngine::wait_until_accepting() {
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!accepting()) {
    if (!postmaster_->running() || std::chrono::steady_clock::now() >= deadline) {
      postmaster_.reset();
      throw std::runtime_error("postgres on port " + std::to_string(port_) + " did not start; log:\n" +
                               log_tail(log_file(), 2000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void PostgresEngine::begin_stop() {
  if (postmaster_) postmaster_->signal(SIGINT);  // fast shutdown
}

bool PostgresEngine::stopped() { return !postmaster_ || !postmaster_->running(); }

void PostgresEngine::stop() {
  if (stopped()) return;
  begin_stop();
  if (!postmaster_->wait_blocking(kStepTimeout)) throw std::runtime_error("postgres ignored SIGINT");
}

bool PostgresEngine::running() { return !stopped(); }

std::string PostgresEngine::psql(std::string const& sql, std::string const& database) {
  auto out = dir_ / ("psql-" + std::to_string(++runs_) + ".out");
  ChildProcess child({bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                      std::to_string(port_), "-U", kSuperuser, "-d", database, "-c", sql},
                     out);
  auto code = child.wait_blocking(kStepTimeout);
  std::string text = read_output(out);
  std::filesystem::remove(out);
  if (code != 0) throw std::runtime_error("psql '" + sql + "' failed: " + text);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string PostgresEngine::create_database() {
  std::string name = "fresh" + std::to_string(++databases_);
  psql("CREATE DATABASE " + name, "postgres");
  return name;
}

}  // namespace outboard::lab
