#pragma once
// One asynchronous libpq connection, owned by one event-loop thread and shared by every coroutine
// on it. Statements from concurrent coroutines are queued and run one after another: each Store
// call is one statement (a server-side function, see pg_schema_sql.cpp), so a call costs one round
// trip whatever it does.
//
// Why not libpq's pipeline mode: every call is already a single statement in a transaction of
// its own, and in pipeline mode one failed statement aborts the ones queued behind it until the
// next sync point, which would need per-statement syncs and re-queueing on every error; the
// throughput it would add on a loopback or LAN database is small next to the complexity of
// recovering a half-consumed pipeline after a dropped connection. (Say so in docs/STATE.md.)
//
// Nothing blocks: the connection is made with PQconnectStartParams/PQconnectPoll, statements are
// sent with PQsendQueryParams on a non-blocking connection, and the socket (PQsocket) is waited on
// through an Asio posix::stream_descriptor. Host names are resolved by libpq inside
// PQconnectStartParams, which blocks on DNS: use an IP address or a name in /etc/hosts.
//
// Failures: a database that cannot be reached, or a connection lost, is Errc::unavailable; a
// statement without an answer within the command timeout (counted from the call, queueing
// included) is Errc::timeout and drops the connection. The next call reconnects; after a failed
// connect or a timeout, calls fail at once with Errc::unavailable during a short backoff (50 ms
// doubling to 1 s, reset by any answer). Messages name the URL without its password.
//
// Executor: every member must be called on the executor given to create(). Ownership: hold it by
// shared_ptr; coroutines in flight keep it alive; close() ends them promptly.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "state/postgres/pg_codec.hpp"

namespace outboard::state {

struct PgEndpoint {
  std::string url;       // what libpq connects to (may hold the password)
  std::string redacted;  // the same without the password: what messages show
  core::Millis command_timeout{1000};
};

class PgConnection : public std::enable_shared_from_this<PgConnection> {
 public:
  static std::shared_ptr<PgConnection> create(boost::asio::any_io_executor executor, PgEndpoint endpoint);
  ~PgConnection();
  PgConnection(PgConnection const&) = delete;
  PgConnection& operator=(PgConnection const&) = delete;

  // Runs one statement (`sql` must stay alive until the result: pass a literal) with binary
  // parameters and binary results. The caller holds a shared_ptr to this connection until the
  // awaitable completes.
  boost::asio::awaitable<core::Result<PgRows>> execute(char const* sql, PgParams params);

  // Drops the connection and fails every call queued or running with Errc::unavailable; later
  // calls fail at once. Idempotent.
  void close();

 private:
  struct Link;
  struct Turn;

  PgConnection(boost::asio::any_io_executor executor, PgEndpoint endpoint);

  boost::asio::awaitable<core::Result<PgRows>> run(char const* sql, PgParams const& params,
                                                   std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<core::Result<void>> connect(std::shared_ptr<Link> link);
  core::Error failed(core::Errc code, std::string const& what, bool back_off);
  void pass_turn();

  boost::asio::any_io_executor executor_;
  PgEndpoint endpoint_;
  std::shared_ptr<Link> link_;                // the live connection; null when there is none
  std::deque<std::shared_ptr<Turn>> turns_;   // front: the call running now; the rest wait
  bool closed_ = false;
  core::Millis backoff_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::string last_error_;
};

}  // namespace outboard::state
