#include "state/postgres/pg_connection.hpp"

#include <poll.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

#include "state/postgres/pg_libpq.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using core::Errc;
using core::Error;
using core::Result;
using Clock = std::chrono::steady_clock;

using core::use_nothrow;
constexpr core::Millis kFirstBackoff{50};
constexpr core::Millis kMaxBackoff{1000};

// Binary results: bytea arrives as its bytes, int8 as 8 big-endian bytes.
constexpr int kBinary = 1;

// True when `fd` has something to read right now. Asio's reactor is edge-triggered and a wait
// operation does not try the descriptor first, so an edge that came while nobody waited would be
// lost; asking the kernel before every wait closes that gap (a new arrival after this answer is a
// new edge, and our wait is registered before the loop next polls).
bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

// One connection to the server. A new Link for every (re)connect, so a coroutine still finishing
// on an old one can tell (dead) and never touches the new one.
struct PgConnection::Link {
  explicit Link(asio::any_io_executor executor) : socket(executor), timer(std::move(executor)) {}
  ~Link() { finish(); }

  // Closes the connection (libpq owns the socket: the descriptor only borrows it).
  void finish() {
    dead = true;
    if (socket.is_open()) socket.release();
    if (conn) PQfinish(conn);
    conn = nullptr;
  }

  // Follows libpq's socket: it may change while connecting (another address is tried).
  Result<void> adopt_socket(std::string const& where) {
    int fd = PQsocket(conn);
    if (fd < 0) return core::make_error(Errc::unavailable, where + ": no socket");
    if (socket.is_open() && socket.native_handle() == fd) return {};
    if (socket.is_open()) socket.release();
    boost::system::error_code ec;
    socket.assign(fd, ec);
    if (ec) return core::make_error(Errc::unavailable, where + ": " + ec.message());
    return {};
  }

  PGconn* conn = nullptr;
  asio::posix::stream_descriptor socket;
  asio::steady_timer timer;  // the running statement's deadline
  bool timed_out = false;
  bool dead = false;
};

// One call's place in the queue: woken (granted) when the call before it is done.
struct PgConnection::Turn {
  explicit Turn(asio::any_io_executor executor) : timer(std::move(executor)) {}
  asio::steady_timer timer;
  bool granted = false;
};

namespace {

enum class Ready { read, write };

// Waits until libpq's socket is ready, or the deadline passes (Errc::timeout), or the link is
// closed (Errc::unavailable).
template <class LinkPtr>
asio::awaitable<Result<void>> wait_ready(LinkPtr link, Ready want, Clock::time_point deadline,
                                         std::string const& where) {
  if (auto adopted = link->adopt_socket(where); !adopted) co_return adopted;
  if (want == Ready::read && readable_now(link->socket.native_handle())) co_return Result<void>{};
  link->timer.expires_at(deadline);
  std::weak_ptr weak = link;
  link->timer.async_wait([weak](boost::system::error_code ec) {
    auto l = weak.lock();
    if (ec || !l || l->dead) return;
    l->timed_out = true;
    l->socket.cancel();
  });
  auto type = want == Ready::read ? asio::posix::stream_descriptor::wait_read
                                  : asio::posix::stream_descriptor::wait_write;
  auto [ec] = co_await link->socket.async_wait(type, use_nothrow);
  link->timer.cancel();
  if (link->timed_out) co_return core::make_error(Errc::timeout, where + ": no answer in time");
  if (link->dead) co_return core::make_error(Errc::unavailable, where + ": connection closed");
  if (ec) co_return core::make_error(Errc::unavailable, where + ": " + ec.message());
  co_return Result<void>{};
}

}  // namespace

std::shared_ptr<PgConnection> PgConnection::create(asio::any_io_executor executor, PgEndpoint endpoint) {
  return std::shared_ptr<PgConnection>(new PgConnection(std::move(executor), std::move(endpoint)));
}

PgConnection::PgConnection(asio::any_io_executor executor, PgEndpoint endpoint)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)), backoff_(kFirstBackoff) {
  endpoint_.redacted = "postgres '" + endpoint_.redacted + "'";
}

// The link (if any) closes the connection as it goes.
PgConnection::~PgConnection() = default;

void PgConnection::close() {
  closed_ = true;
  if (link_) {
    link_->finish();
    link_.reset();
  }
  for (auto& turn : turns_) turn->timer.cancel();
}

Error PgConnection::failed(Errc code, std::string const& what, bool back_off) {
  if (link_) {
    link_->finish();
    link_.reset();
  }
  if (back_off) {
    last_error_ = what;
    retry_at_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  }
  return core::make_error(code, endpoint_.redacted + ": " + what);
}

void PgConnection::pass_turn() {
  turns_.pop_front();
  if (turns_.empty()) return;
  turns_.front()->granted = true;
  turns_.front()->timer.cancel();
}

asio::awaitable<Result<PgRows>> PgConnection::execute(char const* sql, PgParams params) {
  auto const deadline = Clock::now() + endpoint_.command_timeout;
  if (closed_) co_return core::make_error(Errc::unavailable, endpoint_.redacted + ": store closed");
  auto self = shared_from_this();
  auto turn = std::make_shared<Turn>(executor_);
  turn->granted = turns_.empty();
  turns_.push_back(turn);
  if (!turn->granted) {
    turn->timer.expires_at(deadline);
    (void)co_await turn->timer.async_wait(use_nothrow);
    if (!turn->granted) {  // the deadline passed, or close(), while queued
      turns_.erase(std::find(turns_.begin(), turns_.end(), turn));
      if (closed_) co_return core::make_error(Errc::unavailable, endpoint_.redacted + ": store closed");
      co_return core::make_error(Errc::timeout, endpoint_.redacted + ": no turn on the connection within " +
                                                    std::to_string(endpoint_.command_timeout.count()) + " ms");
    }
  }
  auto result = co_await run(sql, params, deadline);
  pass_turn();
  co_return result;
}

asio::awaitable<Result<PgRows>> PgConnection::run(char const* sql, PgParams const& params,
                                                  Clock::time_point deadline) {
  if (closed_) co_return core::make_error(Errc::unavailable, endpoint_.redacted + ": store closed");
  if (link_ && PQstatus(link_->conn) == CONNECTION_BAD) failed(Errc::unavailable, "connection lost", false);
  if (!link_) {
    if (auto now = Clock::now(); now < retry_at_) {
      // In backoff: fail fast rather than queue behind a database we know is down.
      auto wait = std::chrono::duration_cast<core::Millis>(retry_at_ - now).count();
      co_return core::make_error(Errc::unavailable, endpoint_.redacted + ": " + last_error_ +
                                                        " (next reconnect in " + std::to_string(wait) + " ms)");
    }
    auto link = std::make_shared<Link>(executor_);
    link_ = link;
    auto connected = co_await connect(link);
    if (!connected) {
      if (link_ != link) co_return connected.error();  // closed meanwhile
      bool timed_out = connected.error().code == Errc::timeout;
      co_return failed(timed_out ? Errc::timeout : Errc::unavailable, connected.error().context, true);
    }
  }
  std::shared_ptr<Link> link = link_;
  std::string const& where = endpoint_.redacted;
  auto values = params.values();
  auto lengths = params.lengths();
  std::vector<int> formats(values.size(), kBinary);
  if (!PQsendQueryParams(link->conn, sql, params.count(), params.types().data(), values.data(),
                         lengths.data(), formats.data(), kBinary)) {
    co_return failed(Errc::unavailable, pg_connection_message(link->conn), false);
  }
  for (;;) {
    int flushed = PQflush(link->conn);
    if (flushed == 0) break;
    if (flushed < 0) co_return failed(Errc::unavailable, pg_connection_message(link->conn), false);
    auto ready = co_await wait_ready(link, Ready::write, deadline, where);
    if (!ready) co_return link->dead ? ready.error() : failed(ready.error().code, ready.error().context, ready.error().code == Errc::timeout);
  }
  // Every result of the statement is read (until NULL) so the connection is idle for the next.
  std::optional<Result<PgRows>> answer;
  for (;;) {
    while (PQisBusy(link->conn)) {
      auto ready = co_await wait_ready(link, Ready::read, deadline, where);
      if (!ready) co_return link->dead ? ready.error() : failed(ready.error().code, ready.error().context, ready.error().code == Errc::timeout);
      if (!PQconsumeInput(link->conn)) co_return failed(Errc::unavailable, pg_connection_message(link->conn), false);
    }
    PGresult* result = PQgetResult(link->conn);
    if (!result) break;
    if (!answer) answer = pg_rows(result, where);
    PQclear(result);
  }
  if (!answer) co_return failed(Errc::unavailable, pg_connection_message(link->conn), false);
  if (PQstatus(link->conn) == CONNECTION_BAD) failed(Errc::unavailable, "connection lost", false);
  backoff_ = kFirstBackoff;  // the server answers
  co_return std::move(*answer);
}

asio::awaitable<Result<void>> PgConnection::connect(std::shared_ptr<Link> link) {
  auto const deadline = Clock::now() + endpoint_.command_timeout;
  // The server ends a statement that runs past the timeout too (statement_timeout), so a call we
  // gave up on does not hold its locks for long after we dropped the connection.
  std::string options = "-c statement_timeout=" + std::to_string(endpoint_.command_timeout.count());
  PgConnectParams params(endpoint_.url, endpoint_.command_timeout, "outboard", options);
  link->conn = PQconnectStartParams(params.keywords(), params.values(), 1);
  std::string const& where = endpoint_.redacted;
  if (!link->conn || PQstatus(link->conn) == CONNECTION_BAD) {
    co_return core::make_error(Errc::unavailable, "cannot connect: " + pg_connection_message(link->conn));
  }
  // Before the first PQconnectPoll, libpq's documentation says to act as if it asked for writing.
  auto polling = PGRES_POLLING_WRITING;
  while (polling != PGRES_POLLING_OK) {
    if (polling == PGRES_POLLING_FAILED) {
      co_return core::make_error(Errc::unavailable, "cannot connect: " + pg_connection_message(link->conn));
    }
    auto ready = co_await wait_ready(link, polling == PGRES_POLLING_READING ? Ready::read : Ready::write,
                                     deadline, where);
    if (!ready) {
      auto e = ready.error();
      e.context = "cannot connect: " + e.context.substr(std::min(e.context.size(), where.size() + 2));
      co_return e;
    }
    polling = PQconnectPoll(link->conn);
  }
  if (PQsetnonblocking(link->conn, 1) != 0) {
    co_return core::make_error(Errc::unavailable, "cannot connect: " + pg_connection_message(link->conn));
  }
  PQsetNoticeProcessor(link->conn, [](void*, char const*) {}, nullptr);
  co_return Result<void>{};
}

}  // namespace outboard::state
