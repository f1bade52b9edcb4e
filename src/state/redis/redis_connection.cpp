#include "state/redis/redis_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <deque>
#include <exception>
#include <optional>
#include <vector>

#include "state/store.hpp"
#include "state/store_url.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using core::Errc;
using core::Error;
using core::Result;

using core::use_nothrow;
// Replies are read in chunks of this size; one buffer per live connection (in read_loop's frame).
constexpr std::size_t kReadChunk = 16 * 1024;

Error unavailable(std::string context) {
  return core::make_error(Errc::unavailable, std::move(context));
}

// Debug check of the threading rule: everything runs on the connection's own event loop.
[[maybe_unused]] bool on_executor_thread(asio::any_io_executor const& executor) {
  if (auto const* io = executor.target<asio::io_context::executor_type>()) {
    return io->running_in_this_thread();
  }
  return true;  // another executor type: cannot tell
}

}  // namespace

RedisEndpoint endpoint_for(StoreUrl const& url, StoreOptions const& options) {
  RedisEndpoint endpoint;
  endpoint.host = url.host;
  endpoint.port = url.port;
  endpoint.password = url.password;
  endpoint.database = url.database;
  endpoint.command_timeout = options.command_timeout;
  return endpoint;
}

void log_if_thrown(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    spdlog::error("redis background coroutine ended by exception: {}", ex.what());
  }
}

// One command waiting for its reply. The waiter sleeps on timer: expiry means timeout; complete()
// cancels it to wake the waiter early. Shared by the waiter and the link's FIFO, so a reply that
// arrives after the waiter gave up lands in memory that is still alive and is simply dropped.
struct RedisConnection::Pending {
  explicit Pending(asio::any_io_executor executor) : timer(std::move(executor)) {}

  void complete(Result<Reply> r) {
    if (result) return;
    result = std::move(r);
    timer.cancel();
  }

  asio::steady_timer timer;
  std::optional<Result<Reply>> result;
};

// One TCP connection attempt and, once its handshake is done, the live connection. A new Link is
// made for every reconnect, so coroutines still finishing on an old socket (whose operations
// complete with operation_aborted after close) can never disturb the new one: each checks its own
// link's `dead` after every await. Owned by shared_ptr: the connection, its reader and writer.
struct RedisConnection::Link {
  Link(asio::any_io_executor executor, std::string link_name, std::uint64_t link_serial)
      : socket(std::move(executor)), name(std::move(link_name)), serial(link_serial) {}

  tcp::socket socket;
  std::string name;                              // for error messages
  std::uint64_t serial;                          // 1, 2, ...: one per connection attempt
  std::function<void()> lost;                    // the connection's on_connection_lost
  RespReader reader;
  std::string out;                               // encoded commands not yet given to the socket
  std::string batch;                             // the commands being written now
  std::deque<std::shared_ptr<Pending>> pending;  // queued or written, in reply order (FIFO)
  bool ready = false;                            // handshake done: the writer may run
  bool writing = false;                          // write_loop is running
  bool dead = false;                             // failed or closed; never revived
};

std::shared_ptr<RedisConnection> RedisConnection::create(asio::any_io_executor executor,
                                                         RedisEndpoint endpoint) {
  // Not make_shared: the constructor is private, so every instance is owned by a shared_ptr.
  return std::shared_ptr<RedisConnection>(
      new RedisConnection(std::move(executor), std::move(endpoint)));
}

RedisConnection::RedisConnection(asio::any_io_executor executor, RedisEndpoint endpoint)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      name_("redis " + endpoint_.host + ":" + std::to_string(endpoint_.port) + "/" +
            std::to_string(endpoint_.database)),
      backoff_(kFirstBackoff) {}

RedisConnection::~RedisConnection() {
  // Only close the socket, so a reader still parked on it ends; no waiter can be left (each holds
  // a shared_ptr to us), and timers are not touched here because this may run while the
  // io_context itself is being torn down.
  if (link_ && !link_->dead) {
    link_->dead = true;
    boost::system::error_code ignored;
    link_->socket.close(ignored);
  }
}

void RedisConnection::close() {
  closed_ = true;
  if (link_) fail_link(*link_, unavailable(name_ + ": store closed"));
  link_.reset();
}

asio::awaitable<Result<Reply>> RedisConnection::execute(std::string command, std::uint64_t* sent_on) {
  return send(std::string(), std::move(command), sent_on);
}

asio::awaitable<Result<Reply>> RedisConnection::execute_after(std::string preface, std::string command,
                                                             std::uint64_t* sent_on) {
  return send(std::move(preface), std::move(command), sent_on);
}

asio::awaitable<Result<Reply>> RedisConnection::send(std::string preface, std::string command,
                                                     std::uint64_t* sent_on) {
  assert(on_executor_thread(executor_));
  if (closed_) co_return unavailable(name_ + ": store closed");
  if (!link_ || link_->dead) {
    auto now = std::chrono::steady_clock::now();
    if (now < retry_at_) {
      // In backoff: fail fast rather than queue behind a store we know is down.
      auto wait = std::chrono::duration_cast<core::Millis>(retry_at_ - now).count();
      co_return unavailable(name_ + ": " + last_error_ + " (next reconnect in " +
                            std::to_string(wait) + " ms)");
    }
    link_ = start_link();
  }
  // Our own reference: link_ may be replaced while we wait.
  std::shared_ptr<Link> link = link_;
  if (sent_on) *sent_on = link->serial;
  // Cost per command: one allocation (Pending and its timer) and one timer in the loop's queue.
  if (!preface.empty()) {
    // Queued in the same turn as the command, with nothing between them: its reply is read and
    // dropped (nobody waits on this Pending), the command's decides.
    link->out += preface;
    link->pending.push_back(std::make_shared<Pending>(executor_));
  }
  auto pending = std::make_shared<Pending>(executor_);
  pending->timer.expires_after(endpoint_.command_timeout);
  if (link->out.empty()) {
    link->out = std::move(command);
  } else {
    link->out += command;
  }
  link->pending.push_back(pending);
  start_writing(link);

  auto [ec] = co_await pending->timer.async_wait(use_nothrow);
  if (pending->result) {
    if (pending->result->has_value()) backoff_ = kFirstBackoff;  // the server answers
    co_return std::move(*pending->result);
  }
  if (ec == asio::error::operation_aborted) {
    // Cancelled by our caller, not by a reply: the command stays in the pipeline so that FIFO
    // matching holds; its reply will be read and dropped.
    co_return unavailable(name_ + ": command cancelled");
  }
  // No reply in time. Policy: drop the whole connection. A reply this late means Redis is hung
  // (SIGSTOP, swapping, a slow script) or the network is gone; keeping the socket would only
  // queue more commands behind the stuck one. Closing fails the others in flight at once with
  // Errc::timeout (they wait on the same silent server), frees the pipeline, and the backoff
  // keeps us from reconnecting to a hung server in a tight loop. Because the socket is closed,
  // no late reply is ever read, so FIFO matching cannot slip. The cost: commands that were merely
  // slow fail too, and a write that timed out may still be applied by Redis later.
  std::string why = "no reply within " + std::to_string(endpoint_.command_timeout.count()) + " ms";
  link_failed(*link, why, Errc::timeout);
  co_return core::make_error(Errc::timeout, name_ + ": " + why);
}

std::shared_ptr<RedisConnection::Link> RedisConnection::start_link() {
  auto link = std::make_shared<Link>(executor_, name_, ++links_made_);
  link->lost = lost_;
  asio::co_spawn(executor_, connect(shared_from_this(), link), log_if_thrown);
  return link;
}

void RedisConnection::link_failed(Link& link, std::string const& what, Errc code) {
  if (link.dead) return;
  fail_link(link, core::make_error(code, name_ + ": " + what));
  last_error_ = what;
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void RedisConnection::fail_link(Link& link, Error const& error) {
  if (link.dead) return;
  link.dead = true;
  boost::system::error_code ignored;
  link.socket.close(ignored);  // ends the reader, writer or connect parked on it
  link.out.clear();
  // complete() only stores the result and cancels a timer: the waiters resume later, from the
  // event loop, so none of them runs inside this loop.
  auto pending = std::move(link.pending);
  link.pending.clear();
  for (auto& p : pending) p->complete(error);
  if (link.ready && link.lost) link.lost();
}

void RedisConnection::start_writing(std::shared_ptr<Link> const& link) {
  if (!link->ready || link->dead || link->writing || link->out.empty()) return;
  link->writing = true;
  // co_spawn starts the writer from the event loop, not inline: every coroutine that is ready in
  // this turn of the loop queues its command first, and they all leave in one write.
  asio::co_spawn(link->socket.get_executor(), write_loop(link), log_if_thrown);
}

asio::awaitable<void> RedisConnection::write_loop(std::shared_ptr<Link> link) {
  while (!link->dead && !link->out.empty()) {
    link->batch.clear();
    link->batch.swap(link->out);  // new commands queue in `out` while this batch is written
    auto [ec, n] = co_await asio::async_write(link->socket, asio::buffer(link->batch), use_nothrow);
    if (link->dead) break;
    if (ec) {
      fail_link(*link, unavailable(link->name + ": write: " + ec.message()));
      break;
    }
  }
  link->writing = false;
}

asio::awaitable<void> RedisConnection::read_loop(std::shared_ptr<Link> link) {
  std::array<char, kReadChunk> buffer;
  for (;;) {
    // Hand out every complete reply first (the first bytes may have come with the handshake's).
    for (;;) {
      auto next = link->reader.next();
      if (!next) {
        fail_link(*link, unavailable(link->name + ": " + next.error().context));
        co_return;
      }
      if (!*next) break;
      if (link->pending.empty()) {
        fail_link(*link, unavailable(link->name + ": a reply came with no command waiting"));
        co_return;
      }
      std::shared_ptr<Pending> p = std::move(link->pending.front());
      link->pending.pop_front();
      p->complete(std::move(**next));
    }
    auto [ec, n] = co_await link->socket.async_read_some(asio::buffer(buffer), use_nothrow);
    if (link->dead) co_return;
    if (ec) {
      fail_link(*link, unavailable(link->name + (ec == asio::error::eof
                                                     ? std::string(": connection closed by redis")
                                                     : ": read: " + ec.message())));
      co_return;
    }
    if (auto fed = link->reader.feed(buffer.data(), n); !fed) {
      fail_link(*link, unavailable(link->name + ": " + fed.error().context));
      co_return;
    }
  }
}

asio::awaitable<void> RedisConnection::connect(std::shared_ptr<RedisConnection> self,
                                               std::shared_ptr<Link> link) {
  RedisEndpoint const& ep = self->endpoint_;
  auto fail = [&](std::string const& what) { self->link_failed(*link, what); };
  // Every await below ends early when the link dies: a command that timed out (or close())
  // closes the socket; it has then already failed the waiters and set the backoff.
  boost::system::error_code ec;
  auto address = asio::ip::make_address(ep.host, ec);
  if (!ec) {
    auto [connect_ec] =
        co_await link->socket.async_connect(tcp::endpoint(address, ep.port), use_nothrow);
    ec = connect_ec;
  } else {
    // A host name: resolved by Asio off the event loop. Not interruptible, but waiters are
    // bounded by their own timers regardless.
    tcp::resolver resolver(self->executor_);
    auto [resolve_ec, results] =
        co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_nothrow);
    if (link->dead) co_return;
    if (resolve_ec) co_return fail("resolve: " + resolve_ec.message());
    auto [connect_ec, endpoint] = co_await asio::async_connect(link->socket, results, use_nothrow);
    ec = connect_ec;
  }
  if (link->dead) co_return;
  if (ec) co_return fail("connect: " + ec.message());
  link->socket.set_option(tcp::no_delay(true), ec);  // pipelined small writes must not wait

  // Handshake, before any queued command is written: a command must never run on the wrong
  // database because a SELECT failed ahead of it.
  std::string hello;
  std::vector<std::string_view> steps;
  if (!ep.password.empty()) {
    append_command(hello, std::array<std::string_view, 2>{"AUTH", ep.password});
    steps.push_back("AUTH");
  }
  std::string db = std::to_string(ep.database);
  if (ep.database != 0) {
    append_command(hello, std::array<std::string_view, 2>{"SELECT", db});
    steps.push_back("SELECT");
  }
  if (!steps.empty()) {
    auto [write_ec, written] =
        co_await asio::async_write(link->socket, asio::buffer(hello), use_nothrow);
    if (link->dead) co_return;
    if (write_ec) co_return fail("handshake write: " + write_ec.message());
    std::array<char, 512> buffer;
    std::size_t answered = 0;
    while (answered < steps.size()) {
      auto next = link->reader.next();
      if (!next) co_return fail(next.error().context);
      if (*next) {
        if ((*next)->is_error()) {
          co_return fail(std::string(steps[answered]) + " refused: " + (*next)->str);
        }
        ++answered;
        continue;
      }
      auto [read_ec, n] = co_await link->socket.async_read_some(asio::buffer(buffer), use_nothrow);
      if (link->dead) co_return;
      if (read_ec) co_return fail("handshake read: " + read_ec.message());
      if (auto fed = link->reader.feed(buffer.data(), n); !fed) co_return fail(fed.error().context);
    }
  }

  link->ready = true;
  self->backoff_ = kFirstBackoff;
  asio::co_spawn(self->executor_, read_loop(link), log_if_thrown);
  start_writing(link);
}

}  // namespace outboard::state
