#include "state/redis/redis_feed.hpp"

#include <boost/asio/dispatch.hpp>

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "state/redis/redis_connection.hpp"
#include "state/redis/redis_feed_reader.hpp"
#include "state/redis/redis_router.hpp"
#include "state/redis/redis_reply.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// One append, atomically. KEYS: 1 = rt:{ROOM}:seq, 2 = rt:{ROOM}:log, 3 = rt:{ROOM}:dd:<key>
// (the counter again when there is no key). ARGV: 1 = body, 2 = history, 3 = history TTL ms,
// 4 = dedupe TTL ms, 5 = '1' to keep history, 6 = '1' to dedupe, 7 = the channel.
// A counter starting again at 1 (it expired) first drops a log left from before, whose ids would
// be above the new ones (XADD refuses an id below the stream's last). Returns {seq, duplicate}.
// The payload "<seq>:<body>" carries everything a reader needs; the room is in the channel.
constexpr std::string_view kAppend = R"lua(
local keep, dedupe = ARGV[5] == '1', ARGV[6] == '1'
if dedupe then
  local seen = redis.call('GET', KEYS[3])
  if seen then return {tonumber(seen), 1} end
end
local seq = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if keep then
  if seq == 1 then redis.call('DEL', KEYS[2]) end
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-0', 'b', ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  if dedupe then redis.call('SET', KEYS[3], seq, 'PX', ARGV[4]) end
end
redis.call('PUBLISH', ARGV[7], seq .. ':' .. ARGV[1])
return {seq, 0}
)lua";

// The counter and the entries from seq ARGV[1] on (at most ARGV[2]; '0': none), from one
// snapshot: a script, so no append can fall between the two reads. Returns {last_seq, entries}.
constexpr std::string_view kReadAfter = R"lua(
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[2] == '0' then return {last, {}} end
return {last, redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])}
)lua";

// The reader's heartbeat, as the near-cache's invalidation connection's.
constexpr core::Millis kReaderHeartbeat = 1000ms;

std::string key_prefix(std::string const& room) { return "rt:{" + room + "}:"; }

Error unexpected(std::string_view what) {
  return core::make_error(Errc::internal, "redis feed " + std::string(what) + ": unexpected reply");
}

Result<Appended> decode_appended(Reply&& reply) {
  if (reply.is_error()) return redis_reply::to_error("feed append", reply);
  if (reply.type != Reply::Type::array || reply.elements.size() != 2 ||
      reply.elements[0].type != Reply::Type::integer || reply.elements[1].type != Reply::Type::integer) {
    return unexpected("append");
  }
  return Appended{reply.elements[0].integer, reply.elements[1].integer != 0};
}

// A stream entry: [id "<seq>-0", [field, body]].
std::optional<FeedEntry> decode_entry(Reply& item) {
  if (item.type != Reply::Type::array || item.elements.size() != 2) return std::nullopt;
  std::string const& id = item.elements[0].str;
  FeedEntry entry;
  auto dash = id.find('-');
  auto [ptr, ec] = std::from_chars(id.data(), id.data() + std::min(dash, id.size()), entry.seq);
  if (ec != std::errc{}) return std::nullopt;
  Reply& fields = item.elements[1];
  if (fields.type != Reply::Type::array || fields.elements.size() != 2) return std::nullopt;
  entry.body = std::move(fields.elements[1].str);
  return entry;
}

Result<History> decode_history(Reply&& reply, std::int64_t after, std::size_t limit, bool keep_history) {
  if (reply.is_error()) return redis_reply::to_error("feed read_after", reply);
  if (reply.type != Reply::Type::array || reply.elements.size() != 2 ||
      reply.elements[0].type != Reply::Type::integer || reply.elements[1].type != Reply::Type::array) {
    return unexpected("read_after");
  }
  History out;
  out.last_seq = reply.elements[0].integer;
  if (!keep_history) return out;
  std::optional<std::int64_t> first_held;
  for (Reply& item : reply.elements[1].elements) {
    auto entry = decode_entry(item);
    if (!entry) return unexpected("read_after");
    if (!first_held) first_held = entry->seq;
    if (out.entries.size() < limit) out.entries.push_back(std::move(*entry));
  }
  out.truncated = history_truncated(after, first_held, out.last_seq);
  return out;
}

using Router = std::shared_ptr<RedisRouter>;

// Free coroutines owning a reference to the router: the feed may go while they wait. The room's
// keys share its hash tag: `route` (its counter) names the slot of all of them. An append is not
// repeated when its answer is lost (it would add the message again); a read is.
Async<Appended> run_append(Router router, std::string command, std::string route) {
  // Named before the co_await (g++ 12 and temporaries in co_await expressions).
  auto pending = router->execute(std::move(command), std::move(route), Repeat::unsafe);
  auto reply = co_await std::move(pending);
  if (!reply) co_return reply.error();
  co_return decode_appended(std::move(*reply));
}

Async<History> run_read_after(Router router, std::string command, std::string route, std::int64_t after,
                              std::size_t limit, bool keep_history) {
  auto pending = router->execute(std::move(command), std::move(route), Repeat::safe);
  auto reply = co_await std::move(pending);
  if (!reply) co_return reply.error();
  co_return decode_history(std::move(*reply), after, limit, keep_history);
}

// One worker thread's feed, over a router of its own (single redis: one pipelined connection, the
// class the store uses; a cluster: a connection per master). Cost: EVAL sends the script text
// with every call (Redis caches the compiled script by SHA1): about 600 bytes per append, no
// NOSCRIPT round trip to handle.
class RedisFeed final : public Feed {
 public:
  RedisFeed(asio::any_io_executor executor, Router router, FeedOptions const& options)
      : executor_(std::move(executor)), router_(std::move(router)), options_(options) {}

  // As RedisStore's: the sockets are closed on the router's own thread.
  ~RedisFeed() override {
    asio::dispatch(executor_, [router = std::move(router_)] { router->close(); });
  }
  RedisFeed(RedisFeed const&) = delete;
  RedisFeed& operator=(RedisFeed const&) = delete;

  Async<Appended> append(std::string room, std::string body, std::string dedupe_key) override {
    std::string const prefix = key_prefix(room);
    bool const dedupe = options_.keep_history && !dedupe_key.empty();
    std::string const seq_key = prefix + "seq";
    std::string const dedupe_name = dedupe ? prefix + "dd:" + dedupe_key : seq_key;
    std::string const history = std::to_string(options_.history);
    std::string const history_ttl = std::to_string(options_.history_ttl.count());
    std::string const dedupe_ttl = std::to_string(options_.dedupe_ttl.count());
    std::string const channel = "rt:" + room;
    std::string command = encode_command({"EVAL", kAppend, "3", seq_key, prefix + "log", dedupe_name, body, history,
                                          history_ttl, dedupe_ttl, options_.keep_history ? "1" : "0",
                                          dedupe ? "1" : "0", channel});
    return run_append(router_, std::move(command), seq_key);
  }

  Async<History> read_after(std::string room, std::int64_t after, std::size_t limit) override {
    after = std::max<std::int64_t>(after, 0);
    std::string const prefix = key_prefix(room);
    // One entry more than asked when the limit is 0: the first held entry decides `truncated`.
    std::size_t const count = options_.keep_history ? std::max<std::size_t>(limit, 1) : 0;
    std::string command = encode_command({"EVAL", kReadAfter, "2", prefix + "seq", prefix + "log",
                                          std::to_string(after + 1), std::to_string(count)});
    return run_read_after(router_, std::move(command), prefix + "seq", after, limit, options_.keep_history);
  }

 private:
  asio::any_io_executor executor_;
  Router router_;
  FeedOptions options_;
};

class RedisFeedProvider final : public FeedProvider {
 public:
  RedisFeedProvider(RouterFactory router_for, std::vector<RedisEndpoint> reader_nodes, FeedOptions const& options,
                    std::string_view backend)
      : router_for_(std::move(router_for)),
        options_(options),
        backend_(backend),
        reader_(std::move(reader_nodes), kReaderHeartbeat) {}

  std::string_view backend() const override { return backend_; }
  // On the worker thread, once: a router bound to its executor; it connects on first use.
  std::shared_ptr<Feed> feed_for(asio::any_io_executor executor) override {
    auto router = router_for_(executor);
    return std::make_shared<RedisFeed>(executor, std::move(router), options_);
  }
  void start(FeedSink& sink) override { reader_.start(sink); }
  void watch(std::string const& room) override { reader_.watch(room); }
  void unwatch(std::string const& room) override { reader_.unwatch(room); }
  void stop() override { reader_.stop(); }

 private:
  RouterFactory router_for_;
  FeedOptions options_;
  std::string_view backend_;
  RedisFeedReader reader_;
};

// Redis refuses PEXPIRE / SET PX of 0 or less, and MAXLEN 0 would keep nothing.
FeedOptions usable(FeedOptions options) {
  options.history = std::max<std::size_t>(options.history, 1);
  options.history_ttl = std::max(options.history_ttl, Millis(1));
  options.dedupe_ttl = std::max(options.dedupe_ttl, Millis(1));
  return options;
}

}  // namespace

std::unique_ptr<FeedProvider> make_routed_redis_feed(RouterFactory router_for, std::vector<RedisEndpoint> reader_nodes,
                                                     FeedOptions const& options, std::string_view backend) {
  return std::make_unique<RedisFeedProvider>(std::move(router_for), std::move(reader_nodes), usable(options), backend);
}

std::unique_ptr<FeedProvider> make_redis_feed(StoreUrl const& url, StoreOptions const& store, FeedOptions const& options) {
  RedisEndpoint endpoint = endpoint_for(url, store);
  RouterFactory single = [endpoint](asio::any_io_executor executor) {
    return make_single_router(RedisConnection::create(std::move(executor), endpoint));
  };
  return make_routed_redis_feed(std::move(single), {endpoint}, options, "redis");
}

}  // namespace outboard::state
