#include "state/redis/pubsub_link.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <utility>

namespace outboard::state {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// One connection's life, shared by its reader, writer and watchdog (all on the link's thread).
// A new Link for every attempt, so coroutines still finishing on an old socket never touch the
// new one.
struct PubSubLink::Link {
  explicit Link(asio::any_io_executor executor) : socket(executor), watchdog(std::move(executor)) {}
  void close() {
    closed = true;
    boost::system::error_code ignored;
    socket.close(ignored);
    watchdog.cancel();
  }
  tcp::socket socket;
  asio::steady_timer watchdog;
  RespReader reader;
  std::string out;    // commands not yet given to the socket
  std::string batch;  // the commands being written now
  bool writing = false;
  SteadyClock::time_point last_heard = SteadyClock::now();
  bool linked = false;  // the handshake is done: PINGs may go
  bool closed = false;
};

namespace {

using Link = PubSubLink::Link;

using core::use_nothrow;
// Pushes are read in chunks of this size; one buffer per live link (in the reading frame).
constexpr std::size_t kPubsubReadChunk = 16 * 1024;

asio::awaitable<void> write_out(std::shared_ptr<Link> link) {
  while (!link->closed && !link->out.empty()) {
    link->batch.clear();
    link->batch.swap(link->out);  // new commands queue in `out` while this batch is written
    auto [ec, n] = co_await asio::async_write(link->socket, asio::buffer(link->batch), use_nothrow);
    if (ec) link->close();
  }
  link->writing = false;
}

// Queues bytes on the link; one writer at a time, started from the event loop, so everything
// queued in this turn of the loop leaves in one write.
void queue(std::shared_ptr<Link> const& link, std::string const& bytes) {
  if (link->closed) return;
  link->out += bytes;
  if (link->writing) return;
  link->writing = true;
  asio::co_spawn(link->socket.get_executor(), write_out(link), log_if_thrown);
}

asio::awaitable<void> watch(std::shared_ptr<Link> link, core::Millis heartbeat, core::Millis timeout,
                            std::string name) {
  std::string const ping = encode_command({"PING"});
  while (!link->closed) {
    link->watchdog.expires_after(heartbeat);
    co_await link->watchdog.async_wait(use_nothrow);
    if (link->closed) co_return;
    if (SteadyClock::now() - link->last_heard > heartbeat + timeout) {
      spdlog::warn("{} silent for over {} ms: dropping its connection", name, (heartbeat + timeout).count());
      link->close();
      co_return;
    }
    if (link->linked) queue(link, ping);
  }
}

// Reads once and feeds the reader; false when the link failed.
asio::awaitable<bool> read_more(Link& link) {
  std::array<char, kPubsubReadChunk> buffer;
  auto [ec, n] = co_await link.socket.async_read_some(asio::buffer(buffer), use_nothrow);
  if (ec || link.closed) co_return false;
  link.last_heard = SteadyClock::now();
  co_return static_cast<bool>(link.reader.feed(buffer.data(), n));
}

asio::awaitable<bool> connect(Link& link, RedisEndpoint const& ep) {
  tcp::resolver resolver(link.socket.get_executor());
  auto [resolve_ec, results] = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_nothrow);
  if (resolve_ec || link.closed) co_return false;
  auto [connect_ec, endpoint] = co_await asio::async_connect(link.socket, results, use_nothrow);
  if (connect_ec || link.closed) co_return false;
  boost::system::error_code ignored;
  link.socket.set_option(tcp::no_delay(true), ignored);
  co_return true;
}

// AUTH when a password is set, then the hello commands, in one write; the hello replies in
// order, or nullopt when the link failed or any step was refused. Pub/sub channels are not per
// database, so no SELECT.
asio::awaitable<std::optional<std::vector<Reply>>> handshake(Link& link, RedisEndpoint const& ep,
                                                             std::vector<std::string> const& hello) {
  std::string bytes;
  if (!ep.password.empty()) append_command(bytes, std::array<std::string_view, 2>{"AUTH", ep.password});
  for (auto const& command : hello) bytes += command;
  if (bytes.empty()) co_return std::vector<Reply>{};
  auto [ec, n] = co_await asio::async_write(link.socket, asio::buffer(bytes), use_nothrow);
  if (ec || link.closed) co_return std::nullopt;
  std::size_t const due = hello.size() + (ep.password.empty() ? 0 : 1);
  std::vector<Reply> replies;
  while (replies.size() < due) {
    auto next = link.reader.next();
    if (!next) co_return std::nullopt;
    if (!*next) {
      if (!co_await read_more(link)) co_return std::nullopt;
      continue;
    }
    if ((*next)->is_error()) co_return std::nullopt;
    replies.push_back(std::move(**next));
  }
  if (!ep.password.empty()) replies.erase(replies.begin());  // AUTH's +OK
  co_return replies;
}

}  // namespace

PubSubLink::PubSubLink(std::string name, RedisEndpoint endpoint, core::Millis heartbeat)
    : PubSubLink(std::move(name), std::vector<RedisEndpoint>{std::move(endpoint)}, heartbeat) {}

PubSubLink::PubSubLink(std::string name, std::vector<RedisEndpoint> endpoints, core::Millis heartbeat)
    : name_(std::move(name)), endpoints_(std::move(endpoints)), heartbeat_(heartbeat) {
  if (endpoints_.empty()) throw std::invalid_argument(name_ + ": no endpoint to link to");
}

PubSubLink::~PubSubLink() { stop(); }

void PubSubLink::start(Events events) {
  if (started()) return;
  events_ = std::move(events);
  asio::co_spawn(io_, reconnect_forever(), log_if_thrown);
  thread_ = std::thread([this] { io_.run(); });
}

void PubSubLink::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void PubSubLink::post(std::function<void()> work) { asio::post(io_, std::move(work)); }

void PubSubLink::send(std::string const& command) {
  if (live_) queue(live_, command);
}

bool PubSubLink::live() const { return live_ && !live_->closed; }

// The pushes the reader holds, to the owner; false when the link must drop (bytes that are not
// RESP, an error reply).
bool PubSubLink::hand_over(Link& link) {
  for (;;) {
    auto next = link.reader.next();
    if (!next) return false;
    if (!*next) return true;
    Reply& reply = **next;
    if (reply.is_error()) {
      spdlog::warn("{}: {}", name_, reply.str);
      return false;
    }
    if (reply.type != Reply::Type::array || reply.elements.size() != 3) continue;  // +PONG
    std::string const& kind = reply.elements[0].str;
    if (kind == "message") {
      events_.message(reply.elements[1].str, reply.elements[2]);
    } else if (kind == "subscribe") {
      events_.subscribed(reply.elements[1].str);
    }
  }
}

// One connection, from connect to drop. True if it got as far as linked().
asio::awaitable<bool> PubSubLink::serve(std::shared_ptr<Link> link) {
  RedisEndpoint const& endpoint = endpoints_[current_];
  asio::co_spawn(io_, watch(link, heartbeat_, endpoint.command_timeout, name_), log_if_thrown);
  std::optional<std::vector<Reply>> hello;
  if (co_await connect(*link, endpoint)) hello = co_await handshake(*link, endpoint, events_.hello);
  if (hello) {
    link->linked = true;
    live_ = link;  // before linked(), so that it may send()
    if (!events_.linked(*hello)) link->linked = false;
  }
  if (!link->linked) {
    live_.reset();
    link->close();
    co_return false;
  }
  for (bool alive = true; alive;) {
    alive = hand_over(*link);
    events_.read_done();
    if (alive) alive = co_await read_more(*link);
  }
  link->close();
  live_.reset();
  events_.unlinked();
  co_return true;
}

asio::awaitable<void> PubSubLink::reconnect_forever() {
  core::Millis backoff = kFirstBackoff;
  asio::steady_timer pause(io_);
  bool failing = false;  // logged once per streak of failed attempts
  for (;;) {
    auto link = std::make_shared<Link>(io_.get_executor());
    // Named before the co_await (g++ 12, see core/offload.hpp).
    auto attempt = serve(link);
    bool const was_linked = co_await std::move(attempt);
    if (!was_linked && !failing) {
      // Unreachable, or refused (AUTH, an ACL, a renamed command): the owner is unlinked meanwhile.
      spdlog::warn("{}: cannot link to {}:{}; retrying", name_, endpoint().host, endpoint().port);
    }
    failing = !was_linked;
    current_ = (current_ + 1) % endpoints_.size();
    backoff = was_linked ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
    pause.expires_after(backoff);
    co_await pause.async_wait(use_nothrow);
  }
}

}  // namespace outboard::state
