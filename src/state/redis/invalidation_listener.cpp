#include "state/redis/invalidation_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr core::Millis kFirstBackoff{50};
constexpr core::Millis kMaxBackoff{2000};
constexpr std::string_view kChannel = "__redis__:invalidate";

// One connection's life, shared by its reader and its watchdog (both on the listener's thread).
struct Link {
  explicit Link(asio::any_io_executor executor) : socket(executor), watchdog(executor) {}
  void close() {
    closed = true;
    boost::system::error_code ignored;
    socket.close(ignored);
    watchdog.cancel();
  }
  tcp::socket socket;
  asio::steady_timer watchdog;
  RespReader reader;
  SteadyClock::time_point last_heard = SteadyClock::now();
  bool subscribed = false;
  bool closed = false;
};

// Every heartbeat: a PING once subscribed (answered even in subscribed mode), and the link closed
// when nothing at all was heard for heartbeat + command timeout. That also bounds the connect
// and the handshake. Without it a silent network (no RST) would leave the cache trusting a link
// that no longer delivers invalidations.
asio::awaitable<void> watch(std::shared_ptr<Link> link, core::Millis heartbeat, core::Millis timeout) {
  std::string const ping = encode_command({"PING"});
  while (!link->closed) {
    link->watchdog.expires_after(heartbeat);
    co_await link->watchdog.async_wait(use_nothrow);
    if (link->closed) co_return;
    if (SteadyClock::now() - link->last_heard > heartbeat + timeout) {
      spdlog::warn("redis invalidation connection silent for over {} ms: dropping it",
                   (heartbeat + timeout).count());
      link->close();
      co_return;
    }
    // The only writer once subscribed; a PING is a few bytes and leaves in one write.
    if (link->subscribed) co_await asio::async_write(link->socket, asio::buffer(ping), use_nothrow);
  }
}

// The next reply, reading as needed; nullopt when the link failed.
asio::awaitable<std::optional<Reply>> next_reply(Link& link) {
  std::array<char, 4096> buffer;
  for (;;) {
    auto next = link.reader.next();
    if (!next) co_return std::nullopt;
    if (*next) co_return std::move(**next);
    auto [ec, n] = co_await link.socket.async_read_some(asio::buffer(buffer), use_nothrow);
    if (ec || link.closed) co_return std::nullopt;
    link.last_heard = SteadyClock::now();
    if (!link.reader.feed(buffer.data(), n)) co_return std::nullopt;
  }
}

asio::awaitable<bool> connect(Link& link, RedisEndpoint const& ep) {
  tcp::resolver resolver(link.socket.get_executor());
  auto [resolve_ec, results] = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_nothrow);
  if (resolve_ec || link.closed) co_return false;
  auto [connect_ec, endpoint] = co_await asio::async_connect(link.socket, results, use_nothrow);
  co_return !connect_ec && !link.closed;
}

// AUTH, CLIENT ID, SUBSCRIBE, each answered in order. The client id, or nullopt.
asio::awaitable<std::optional<std::int64_t>> subscribe(Link& link, RedisEndpoint const& ep) {
  std::string hello;
  if (!ep.password.empty()) append_command(hello, std::array<std::string_view, 2>{"AUTH", ep.password});
  append_command(hello, std::array<std::string_view, 2>{"CLIENT", "ID"});
  append_command(hello, std::array<std::string_view, 2>{"SUBSCRIBE", kChannel});
  auto [ec, written] = co_await asio::async_write(link.socket, asio::buffer(hello), use_nothrow);
  if (ec || link.closed) co_return std::nullopt;
  if (!ep.password.empty()) {
    auto auth = co_await next_reply(link);
    if (!auth || auth->is_error()) co_return std::nullopt;
  }
  auto id = co_await next_reply(link);
  if (!id || id->type != Reply::Type::integer) co_return std::nullopt;
  auto confirmed = co_await next_reply(link);
  if (!confirmed || confirmed->type != Reply::Type::array || confirmed->elements.empty() ||
      confirmed->elements[0].str != "subscribe") {
    co_return std::nullopt;
  }
  co_return id->integer;
}

// Applies one pushed message: ["message", channel, [keys...] or nil]. Anything else (a PING's
// ["pong", ""]) only proves the link alive.
void apply(NearCache& cache, Reply const& message) {
  if (message.type != Reply::Type::array || message.elements.size() != 3 || message.elements[0].str != "message") {
    return;
  }
  Reply const& payload = message.elements[2];
  if (payload.type == Reply::Type::nil) {
    cache.invalidate_all();  // FLUSHALL / FLUSHDB
  } else if (payload.type == Reply::Type::array) {
    for (Reply const& key : payload.elements) cache.invalidate(key.str);
  } else {
    cache.invalidate(payload.str);
  }
}

// One connection, from connect to drop. True if it got as far as subscribing.
asio::awaitable<bool> serve_link(std::shared_ptr<Link> link, RedisEndpoint ep, NearCache& cache,
                                 core::Millis heartbeat) {
  asio::co_spawn(link->socket.get_executor(), watch(link, heartbeat, ep.command_timeout), log_if_thrown);
  bool ok = co_await connect(*link, ep);
  std::optional<std::int64_t> id;
  if (ok) id = co_await subscribe(*link, ep);
  if (!id) {
    link->close();
    co_return false;
  }
  link->subscribed = true;
  cache.linked(*id);
  spdlog::info("redis near-cache: invalidations subscribed on {}:{} (client {})", ep.host, ep.port, *id);
  for (;;) {
    auto message = co_await next_reply(*link);
    if (!message) break;
    apply(cache, *message);
  }
  // Flush before anything else can run on this thread: from here on Redis no longer tells us.
  cache.unlinked();
  link->close();
  spdlog::warn("redis near-cache: invalidation connection to {}:{} lost; cache flushed, reads bypass it",
               ep.host, ep.port);
  co_return true;
}

asio::awaitable<void> listen(RedisEndpoint ep, std::shared_ptr<NearCache> cache, core::Millis heartbeat) {
  auto executor = co_await asio::this_coro::executor;
  core::Millis backoff = kFirstBackoff;
  asio::steady_timer pause(executor);
  bool failing = false;  // logged once per streak of failed attempts
  for (;;) {
    auto link = std::make_shared<Link>(executor);
    // Named before the co_await: g++ 12 would destroy the argument copies (a shared_ptr, the
    // endpoint's strings) twice if they were temporaries of the co_await expression.
    auto attempt = serve_link(link, ep, *cache, heartbeat);
    bool subscribed = co_await std::move(attempt);
    cache->unlinked();  // no-op unless still linked
    if (!subscribed && !failing) {
      // Unreachable, or refused (AUTH, an ACL, a renamed CLIENT): reads go to Redis meanwhile.
      spdlog::warn("redis near-cache: cannot subscribe to invalidations on {}:{}; reads bypass the cache, retrying",
                   ep.host, ep.port);
    }
    failing = !subscribed;
    backoff = subscribed ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
    pause.expires_after(backoff);
    co_await pause.async_wait(use_nothrow);
  }
}

}  // namespace

InvalidationListener::InvalidationListener(RedisEndpoint endpoint, std::shared_ptr<NearCache> cache,
                                           core::Millis heartbeat) {
  asio::co_spawn(io_, listen(std::move(endpoint), std::move(cache), heartbeat), log_if_thrown);
  thread_ = std::thread([this] { io_.run(); });
}

InvalidationListener::~InvalidationListener() {
  io_.stop();
  thread_.join();
}

}  // namespace outboard::state
