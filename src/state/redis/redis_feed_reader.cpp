#include "state/redis/redis_feed_reader.hpp"

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
#include <charconv>
#include <chrono>
#include <utility>
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
constexpr std::string_view kChannelPrefix = "rt:";

std::string channel_of(std::string const& room) { return std::string(kChannelPrefix) + room; }

// "<seq>:<body>", as the append script publishes it; nullopt for anything else.
std::optional<FeedEntry> parse_payload(std::string& payload) {
  auto colon = payload.find(':');
  if (colon == std::string::npos) return std::nullopt;
  FeedEntry entry;
  auto [ptr, ec] = std::from_chars(payload.data(), payload.data() + colon, entry.seq);
  if (ec != std::errc{} || ptr != payload.data() + colon || entry.seq <= 0) return std::nullopt;
  entry.body = payload.substr(colon + 1);
  return entry;
}

// One SUBSCRIBE (or UNSUBSCRIBE) for many channels.
std::string encode_channels(std::string_view verb, std::vector<std::string> const& rooms) {
  std::vector<std::string> channels;
  channels.reserve(rooms.size());
  for (auto const& room : rooms) channels.push_back(channel_of(room));
  std::vector<std::string_view> args{verb};
  args.insert(args.end(), channels.begin(), channels.end());
  return encode_command(args);
}

}  // namespace

// One connection's life, shared by its reader, writer and watchdog (all on the reader's thread).
struct RedisFeedReader::Link {
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
  bool ready = false;   // the handshake is done: sync() may subscribe on it
  bool closed = false;
  // SUBSCRIBE confirmations still due for the rooms subscribed at connect; resync() when 0.
  std::size_t before_resync = 0;
};

struct RedisFeedReader::Batch {
  std::vector<std::pair<std::string, std::vector<FeedEntry>>> rooms;
};

namespace {

using Link = RedisFeedReader::Link;

asio::awaitable<void> write_out(std::shared_ptr<Link> link) {
  while (!link->closed && !link->out.empty()) {
    link->batch.clear();
    link->batch.swap(link->out);
    auto [ec, n] = co_await asio::async_write(link->socket, asio::buffer(link->batch), use_nothrow);
    if (ec) link->close();
  }
  link->writing = false;
}

// Queues bytes on the link; one writer at a time, started from the event loop.
void send(std::shared_ptr<Link> const& link, std::string const& bytes) {
  if (link->closed) return;
  link->out += bytes;
  if (link->writing) return;
  link->writing = true;
  asio::co_spawn(link->socket.get_executor(), write_out(link), log_if_thrown);
}

// As the invalidation listener's: a PING every heartbeat (answered in subscribed mode too), and
// the link closed when nothing was heard for heartbeat + timeout. It also bounds the connect.
asio::awaitable<void> watch_link(std::shared_ptr<Link> link, core::Millis heartbeat, core::Millis timeout) {
  std::string const ping = encode_command({"PING"});
  while (!link->closed) {
    link->watchdog.expires_after(heartbeat);
    co_await link->watchdog.async_wait(use_nothrow);
    if (link->closed) co_return;
    if (SteadyClock::now() - link->last_heard > heartbeat + timeout) {
      spdlog::warn("redis feed reader silent for over {} ms: dropping its connection", (heartbeat + timeout).count());
      link->close();
      co_return;
    }
    if (link->ready) send(link, ping);
  }
}

// Reads until the reader holds at least one complete reply; false when the link failed.
asio::awaitable<bool> read_more(Link& link) {
  std::array<char, 16 * 1024> buffer;
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

// AUTH when a password is set; true when accepted (or none is needed). Pub/sub channels are not
// per database, so no SELECT.
asio::awaitable<bool> authenticate(Link& link, RedisEndpoint const& ep) {
  if (ep.password.empty()) co_return true;
  std::string auth = encode_command({"AUTH", ep.password});
  auto [ec, n] = co_await asio::async_write(link.socket, asio::buffer(auth), use_nothrow);
  if (ec || link.closed) co_return false;
  for (;;) {
    auto next = link.reader.next();
    if (!next) co_return false;
    if (*next) co_return !(*next)->is_error();
    if (!co_await read_more(link)) co_return false;
  }
}

}  // namespace

RedisFeedReader::RedisFeedReader(RedisEndpoint endpoint, core::Millis heartbeat)
    : endpoint_(std::move(endpoint)), heartbeat_(heartbeat) {}

RedisFeedReader::~RedisFeedReader() { stop(); }

void RedisFeedReader::start(FeedSink& sink) {
  if (thread_.joinable() || io_.stopped()) return;
  sink_ = &sink;
  asio::co_spawn(io_, listen(), log_if_thrown);
  thread_ = std::thread([this] { io_.run(); });
}

void RedisFeedReader::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void RedisFeedReader::watch(std::string const& room) {
  if (!watches_.add(room)) return;
  // A room watched again before its UNSUBSCRIBE went out is still subscribed: no confirmation
  // will come, so watching() is told here (its messages were dropped while it was unwatched).
  asio::post(io_, [this, room] {
    bool const still_subscribed = subscribed_.contains(room);
    sync();
    if (still_subscribed && link_ && link_->ready) sink_->watching(room);
  });
}

void RedisFeedReader::unwatch(std::string const& room) {
  if (watches_.remove(room)) asio::post(io_, [this] { sync(); });
}

// Reader thread, posted by watch() and unwatch() (after stop() the handler never runs and goes
// with the io_context). One SUBSCRIBE for the rooms newly watched and one UNSUBSCRIBE for those no
// longer watched. Without a live link there is nothing to do: the next link subscribes to all.
void RedisFeedReader::sync() {
  if (!link_ || !link_->ready || link_->closed) return;
  std::set<std::string> wanted = watches_.rooms();
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::set_difference(wanted.begin(), wanted.end(), subscribed_.begin(), subscribed_.end(), std::back_inserter(added));
  std::set_difference(subscribed_.begin(), subscribed_.end(), wanted.begin(), wanted.end(), std::back_inserter(removed));
  if (!added.empty()) send(link_, encode_channels("SUBSCRIBE", added));
  if (!removed.empty()) send(link_, encode_channels("UNSUBSCRIBE", removed));
  subscribed_ = std::move(wanted);
}

// Reader thread, right after the handshake: every watched room in one SUBSCRIBE; resync() once
// all are confirmed (at once when none is watched), so a receiver that re-reads its rooms then
// misses nothing appended after.
void RedisFeedReader::subscribe_all(Link& link) {
  subscribed_ = watches_.rooms();
  link.before_resync = subscribed_.size();
  if (subscribed_.empty()) {
    sink_->resync();
    return;
  }
  send(link_, encode_channels("SUBSCRIBE", std::vector<std::string>(subscribed_.begin(), subscribed_.end())));
}

void RedisFeedReader::handle(Link& link, Reply& reply, Batch& batch) {
  if (reply.type != Reply::Type::array || reply.elements.size() != 3) return;  // +PONG, ["pong", ""]
  std::string const& kind = reply.elements[0].str;
  std::string& channel = reply.elements[1].str;
  if (!channel.starts_with(kChannelPrefix)) return;
  std::string room = channel.substr(kChannelPrefix.size());
  if (kind == "message") {
    auto entry = parse_payload(reply.elements[2].str);
    if (!entry) return;
    if (batch.rooms.empty() || batch.rooms.back().first != room) batch.rooms.emplace_back(std::move(room), std::vector<FeedEntry>{});
    batch.rooms.back().second.push_back(std::move(*entry));
  } else if (kind == "subscribe") {
    flush(batch);  // what came before the confirmation goes first
    if (watches_.contains(room)) sink_->watching(room);
    if (link.before_resync > 0 && --link.before_resync == 0) sink_->resync();
  }
}

// Rooms unwatched since their messages left Redis are skipped here.
void RedisFeedReader::flush(Batch& batch) {
  for (auto& [room, entries] : batch.rooms) {
    if (watches_.contains(room)) sink_->entries(room, std::move(entries));
  }
  batch.rooms.clear();
}

asio::awaitable<bool> RedisFeedReader::serve_link(std::shared_ptr<Link> link) {
  asio::co_spawn(io_, watch_link(link, heartbeat_, endpoint_.command_timeout), log_if_thrown);
  bool ok = co_await connect(*link, endpoint_);
  if (ok) ok = co_await authenticate(*link, endpoint_);
  if (!ok) {
    link->close();
    co_return false;
  }
  link->ready = true;
  link_ = link;
  spdlog::info("redis feed reader connected to {}:{}", endpoint_.host, endpoint_.port);
  subscribe_all(*link);
  for (bool alive = true; alive;) {
    Batch batch;
    for (;;) {
      auto next = link->reader.next();
      if (!next) {
        alive = false;
        break;
      }
      if (!*next) break;
      if ((*next)->is_error()) {
        spdlog::warn("redis feed reader: {}", (*next)->str);
        alive = false;
        break;
      }
      handle(*link, **next, batch);
    }
    flush(batch);
    if (alive) alive = co_await read_more(*link);
  }
  link->close();
  link_.reset();
  subscribed_.clear();
  spdlog::warn("redis feed reader lost its connection to {}:{}; reconnecting", endpoint_.host, endpoint_.port);
  co_return true;
}

asio::awaitable<void> RedisFeedReader::listen() {
  core::Millis backoff = kFirstBackoff;
  asio::steady_timer pause(io_);
  for (;;) {
    auto link = std::make_shared<Link>(io_.get_executor());
    // Named before the co_await (g++ 12, see core/offload.hpp).
    auto attempt = serve_link(link);
    bool connected = co_await std::move(attempt);
    backoff = connected ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
    pause.expires_after(backoff);
    co_await pause.async_wait(use_nothrow);
  }
}

}  // namespace outboard::state
