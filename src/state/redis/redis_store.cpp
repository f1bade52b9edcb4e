#include "state/redis/redis_store.hpp"

#include <boost/asio/dispatch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "state/redis/commit_script.hpp"
#include "state/redis/invalidation_listener.hpp"
#include "state/redis/lua_script.hpp"
#include "state/redis/near_cache.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/redis/redis_reply.hpp"
#include "state/redis/redis_router.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;

// compare_and_set in one atomic step. ARGV: 1 = "1" if a value is expected ("0": the key must be
// absent), 2 = expected, 3 = desired, 4 = TTL in ms or "" for none (<= 0: gone at once, as in
// the memory store). GET on a non-string raises WRONGTYPE, which maps to Errc::invalid.
constexpr std::string_view kCompareAndSet = R"lua(
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
elseif tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('DEL', KEYS[1])
end
return 1
)lua";

// hset with a TTL in one atomic step. ARGV: 1 = TTL in ms, then field, value, field, value...
// One HSET per field keeps Lua's stack bounded for any number of fields. A wrong-type key fails
// on the first HSET, before anything is written. PEXPIRE <= 0 deletes the key, as the memory
// store's immediate expiry does.
constexpr std::string_view kHsetWithTtl = R"lua(
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
)lua";

// commit_if in one script, so Redis runs it atomically: the shared function (commit_script.hpp)
// applied to the script's own KEYS and ARGV.
std::string const kCommitIf = redis_commit::with_commit_function("return commit_if(KEYS, ARGV)\n");

using Connection = std::shared_ptr<RedisConnection>;
using Router = std::shared_ptr<RedisRouter>;

// Sends one command about `key` and decodes its reply. A free coroutine that owns a reference to
// the router and copies of everything else: it never touches the RedisStore, which may be
// destroyed while this waits for its reply.
template <class T, class Decode>
Async<T> call(Router router, std::string key, Repeat repeat, std::string command, std::string_view name,
              Decode decode) {
  auto reply = co_await router->execute(std::move(command), std::move(key), repeat);
  if (!reply) co_return reply.error();
  co_return decode(name, std::move(*reply));
}

// How many replicas must confirm a chosen write, and for how long to wait (StoreOptions).
struct Durability {
  int replicas = 0;  // 0: off
  Millis timeout{100};
};

// A chosen write (commit_if, compare_and_set: a script answering 1 when it wrote, 0 when its
// condition failed). With durability on, a write that happened is confirmed by WAIT on the very
// connection that answered it; a failed condition wrote nothing and is answered at once.
// `script_text`: the command is an EVALSHA of that script, sent again as EVAL when Redis does not
// know it (a NOSCRIPT answer: the script did not run, so sending it again is safe).
Async<bool> durable_call(Router router, std::string key, std::string command, std::string_view name,
                         Durability durability, std::string_view script_text = {}) {
  AnsweredOn where;
  std::string by_sha = script_text.empty() ? std::string() : command;
  auto reply = co_await router->execute(std::move(command), key, Repeat::unsafe, &where);
  if (reply && !script_text.empty() && redis_lua::is_noscript(*reply)) {
    std::string by_text = redis_lua::with_script_text(by_sha, script_text);
    reply = co_await router->execute(std::move(by_text), std::move(key), Repeat::unsafe, &where);
  }
  if (!reply) co_return reply.error();
  Result<bool> wrote = redis_reply::flag(name, std::move(*reply));
  if (!wrote || !*wrote || durability.replicas == 0) co_return wrote;
  // Named before the co_await (g++ 12 and temporaries in co_await expressions).
  auto confirming = confirm_replicated(std::move(where), durability.replicas, durability.timeout);
  auto confirmed = co_await std::move(confirming);
  if (!confirmed) co_return core::make_error(Errc::unavailable, std::string(name) + ": " + confirmed.error().context);
  co_return true;
}

// Single redis: every command on this thread's one pipelined connection, any keys together.
class SingleRouter final : public RedisRouter {
 public:
  explicit SingleRouter(Connection conn) : conn_(std::move(conn)) {}
  asio::awaitable<Result<Reply>> execute(std::string command, std::string, Repeat, AnsweredOn* answered) override {
    // Named before the co_await (g++ 12 and temporaries in co_await expressions).
    Connection conn = conn_;
    std::uint64_t serial = 0;
    auto reply = co_await conn->execute(std::move(command), &serial);
    if (reply && answered) *answered = AnsweredOn{std::move(conn), serial};
    co_return reply;
  }
  Result<void> one_command_may_touch(std::span<std::string_view const>) const override { return {}; }
  void close() override { conn_->close(); }

 private:
  Connection conn_;
};

// StoreOptions' durability, checked as check_wait_options says.
Durability durability_of(StoreOptions const& options) {
  if (options.wait_replicas < 0) throw std::invalid_argument("wait_replicas must not be negative");
  if (options.wait_replicas > 0 && (options.wait_timeout.count() < 1 ||
                                    options.wait_timeout >= options.command_timeout)) {
    throw std::invalid_argument("wait_timeout (" + std::to_string(options.wait_timeout.count()) +
                                " ms) must be at least 1 ms and below the command timeout (" +
                                std::to_string(options.command_timeout.count()) + " ms)");
  }
  return {options.wait_replicas, options.wait_timeout};
}

template <class T>
Async<T> ready(Result<T> value) {
  co_return value;
}

// One thread's side of the near-cache: the process's cache, and whether this thread's data
// connection has CLIENT TRACKING on, redirected to the cache's current invalidation connection.
// Shared by the store and its reads in flight; touched only on the store's thread.
struct NearSide {
  std::shared_ptr<NearCache> cache;
  Connection conn;  // the thread's one connection: tracking is per connection
  std::function<void(std::string const&)> before_fill;  // tests only
  // Tracking is on since the connection with this serial (0: not on) for this generation.
  std::uint64_t tracked_serial = 0;
  std::uint64_t tracked_generation = 0;
};
using Near = std::shared_ptr<NearSide>;

// Turns tracking on for this thread's connection, redirected to the ticket's invalidation
// connection, unless it already is. False when Redis refused (older than 6: no caching then).
// OPTIN: Redis tracks only the reads sent right after CLIENT CACHING yes (cached_call's), not
// every key this connection reads (idempotency records, carts, job hashes, the keys scripts
// read): otherwise each write to one of those sends us an invalidation for a key we never
// cached, and Redis's tracking table grows with every key the process ever read.
std::string client_caching_yes() { return encode_command({"CLIENT", "CACHING", "yes"}); }

Async<bool> ensure_tracking(Connection conn, Near near, NearCache::Ticket ticket) {
  if (near->tracked_serial != 0 && near->tracked_generation == ticket.generation) co_return true;
  std::string client = std::to_string(ticket.client_id);
  std::string command = encode_command({"CLIENT", "TRACKING", "on", "REDIRECT", client, "OPTIN"});
  std::uint64_t serial = 0;
  auto on = co_await conn->execute(std::move(command), &serial);
  if (!on) co_return on.error();
  if (on->is_error()) co_return false;
  // cached_call drops the reply to each read's CLIENT CACHING yes: make sure once that Redis
  // accepts it (an ACL may allow TRACKING and not CACHING), or a read it refused to track would
  // be cached and never invalidated. (It marks whichever command comes next on the connection as
  // tracked: at worst one key more is tracked, never one less.)
  std::uint64_t caching_serial = 0;
  std::string caching_command = client_caching_yes();  // named: g++ 12, see cached_call
  auto caching = co_await conn->execute(std::move(caching_command), &caching_serial);
  if (!caching) co_return caching.error();
  if (caching->is_error() || caching_serial != serial) co_return false;
  near->tracked_serial = serial;
  near->tracked_generation = ticket.generation;
  co_return true;
}

// A read through the near-cache: a hit costs no command. A miss leaves a placeholder, makes sure
// the connection's reads are tracked, reads, and fills the cache only when the read ran on the
// connection where tracking is on and the placeholder survived (no invalidation crossed it).
template <class T, class Decode>
Async<T> cached_call(Connection conn, Near near, std::string key, std::string slot, std::string command,
                     std::string_view name, Decode decode) {
  NearCache& cache = *near->cache;
  if (auto hit = cache.lookup(key, slot)) co_return std::get<T>(std::move(*hit));
  auto ticket = cache.begin_read(key);
  bool tracked = false;
  if (ticket) {
    // Named before the co_await: g++ 12 would destroy the shared_ptr argument copies twice if
    // they were temporaries of the co_await expression (see core/offload.hpp).
    auto tracking = ensure_tracking(conn, near, *ticket);
    auto on = co_await std::move(tracking);
    if (!on) co_return on.error();
    tracked = *on;
  }
  std::uint64_t serial = 0;
  // Tracked reads go right behind CLIENT CACHING yes (OPTIN, see ensure_tracking); its reply is
  // dropped: ensure_tracking made sure Redis accepts it, and were tracking off by now, the
  // connection was replaced and the serial says so.
  auto read = tracked ? conn->execute_after(client_caching_yes(), std::move(command), &serial)
                      : conn->execute(std::move(command), &serial);
  auto reply = co_await std::move(read);
  if (!reply) co_return reply.error();
  Result<T> value = decode(name, std::move(*reply));
  if (!value || !tracked) co_return value;
  if (serial != near->tracked_serial) {
    // Reconnected since tracking was turned on: this read was not tracked, and the next must
    // turn it on again.
    near->tracked_serial = 0;
    co_return value;
  }
  if (near->before_fill) near->before_fill(key);
  cache.fill(key, slot, *ticket, CachedValue(std::in_place_type<T>, *value));
  co_return value;
}

// A write's keys leave the cache when it is sent (a read in flight then cannot fill) and again
// when it is answered (a read of another thread may have filled in between); Redis's message
// for them follows anyway.
template <class T>
Async<T> drop_after(Near near, std::vector<std::string> keys, Async<T> op) {
  auto result = co_await std::move(op);
  for (auto const& key : keys) near->cache->drop(key);
  co_return result;
}

Result<void> ignore_value(std::string_view name, Reply&& reply) {
  if (reply.is_error()) return redis_reply::to_error(name, reply);
  return {};
}

Result<bool> not_flag(std::string_view name, Reply&& reply) {
  auto r = redis_reply::flag(name, std::move(reply));
  if (!r) return r.error();
  return !*r;
}

std::string millis(Millis ttl) { return std::to_string(ttl.count()); }


// One event loop's store, for redis:// and redis-cluster:// alike: every method encodes its
// command at once (so it may be called with temporaries) and returns a coroutine that owns what
// it needs. Commands reach a server through the RedisRouter (the key decides where, in a
// cluster), each marked whether it is safe to repeat after a lost connection (redis_router.hpp).
// Call only from coroutines on the executor the store was made for; destroy before that
// executor's io_context.
class RedisStore final : public Store {
 public:
  // `near`: this thread's side of the near-cache, or null without one.
  // `backend`: what backend() answers, a literal.
  RedisStore(asio::any_io_executor executor, Router router, Near near, std::string_view backend,
             Durability durability)
      : executor_(std::move(executor)),
        router_(std::move(router)),
        near_(std::move(near)),
        backend_(backend),
        durability_(durability) {}

  // Closes the socket on the connection's own thread: at once when destroyed there, otherwise
  // from its event loop (or, if that never runs again, when the io_context is destroyed).
  // Coroutines still waiting keep the connection alive and see Errc::unavailable.
  ~RedisStore() override {
    asio::dispatch(executor_, [router = std::move(router_)] { router->close(); });
  }

  RedisStore(RedisStore const&) = delete;
  RedisStore& operator=(RedisStore const&) = delete;

  std::string_view backend() const override { return backend_; }

  Async<void> ping() override {
    return call<void>(router_, "", Repeat::safe, encode_command({"PING"}), "PING", redis_reply::ok);
  }

  Async<std::optional<std::string>> get(std::string key) override {
    std::string command = encode_command({"GET", key});
    return read<std::optional<std::string>>(std::move(key), "", std::move(command), "GET",
                                            redis_reply::optional_string);
  }

  Async<void> set(std::string key, std::string value, std::optional<Millis> ttl) override {
    if (!ttl) return wrote({key}, call<void>(router_, key, Repeat::safe, encode_command({"SET", key, value}), "SET", redis_reply::ok));
    // A TTL <= 0 is expired on arrival (memory store semantics); Redis would refuse SET PX 0.
    if (ttl->count() <= 0) {
      return wrote({key}, call<void>(router_, key, Repeat::safe, encode_command({"DEL", key}), "DEL", ignore_value));
    }
    return wrote({key}, call<void>(router_, key, Repeat::safe, encode_command({"SET", key, value, "PX", millis(*ttl)}), "SET",
                                   redis_reply::ok));
  }

  Async<bool> set_if_absent(std::string key, std::string value,
                            std::optional<Millis> ttl) override {
    if (!ttl) {
      return wrote({key}, call<bool>(router_, key, Repeat::unsafe, encode_command({"SET", key, value, "NX"}), "SET NX",
                                     redis_reply::ok_or_nil));
    }
    // Expired on arrival: it "writes" exactly when the key is absent, and leaves nothing behind.
    if (ttl->count() <= 0) {
      return call<bool>(router_, key, Repeat::safe, encode_command({"EXISTS", key}), "EXISTS", not_flag);
    }
    return wrote({key}, call<bool>(router_, key, Repeat::unsafe, encode_command({"SET", key, value, "NX", "PX", millis(*ttl)}),
                                   "SET NX", redis_reply::ok_or_nil));
  }

  Async<bool> del(std::string key) override {
    return wrote({key}, call<bool>(router_, key, Repeat::unsafe, encode_command({"DEL", key}), "DEL", redis_reply::flag));
  }

  Async<bool> expire(std::string key, Millis ttl) override {
    return wrote({key}, call<bool>(router_, key, Repeat::safe, encode_command({"PEXPIRE", key, millis(ttl)}), "PEXPIRE",
                                   redis_reply::flag));
  }

  Async<std::int64_t> pttl(std::string key) override {
    return call<std::int64_t>(router_, key, Repeat::safe, encode_command({"PTTL", key}), "PTTL", redis_reply::integer);
  }

  Async<bool> compare_and_set(std::string key, std::optional<std::string> expected,
                              std::string desired, std::optional<Millis> ttl) override {
    // By the script's SHA1 (EVALSHA), by its text only when Redis does not know it (as commit_if).
    std::string ttl_arg = ttl ? millis(*ttl) : std::string();
    return wrote({key}, durable_call(router_, key,
                                     encode_command({"EVALSHA", compare_and_set_.sha, "1", key, expected ? "1" : "0",
                                                     expected ? std::string_view(*expected) : std::string_view(),
                                                     desired, ttl_arg}),
                                     "compare_and_set", durability_, compare_and_set_.text));
  }

  Async<std::int64_t> incr_by(std::string key, std::int64_t delta) override {
    // INCRBY keeps the key's TTL, as the interface asks.
    return wrote({key}, call<std::int64_t>(router_, key, Repeat::unsafe, encode_command({"INCRBY", key, std::to_string(delta)}),
                                           "INCRBY", redis_reply::integer));
  }

  Async<std::optional<std::string>> hget(std::string key, std::string field) override {
    std::string command = encode_command({"HGET", key, field});
    return read<std::optional<std::string>>(std::move(key), "h:" + field, std::move(command), "HGET",
                                            redis_reply::optional_string);
  }

  Async<FieldMap> hgetall(std::string key) override {
    std::string command = encode_command({"HGETALL", key});
    return read<FieldMap>(std::move(key), "", std::move(command), "HGETALL", redis_reply::field_map);
  }

  Async<void> hset(std::string key, Fields fields, std::optional<Millis> ttl) override {
    std::vector<std::string_view> args;
    args.reserve(5 + 2 * fields.size());
    std::string ttl_arg;
    if (ttl) {
      ttl_arg = millis(*ttl);
      args.insert(args.end(), {"EVAL", kHsetWithTtl, "1", key, ttl_arg});
    } else {
      // Redis has no empty hashes, and plain HSET without fields is a syntax error: writing no
      // fields without a TTL changes nothing.
      if (fields.empty()) return ready(Result<void>{});
      // Plain HSET leaves an existing TTL as it is.
      args.insert(args.end(), {"HSET", key});
    }
    for (auto const& [field, value] : fields) {
      args.push_back(field);
      args.push_back(value);
    }
    return wrote({key}, call<void>(router_, key, Repeat::safe, encode_command(args), ttl ? "hset with ttl" : "HSET", ignore_value));
  }

  Async<std::int64_t> hdel(std::string key, std::vector<std::string> fields) override {
    if (fields.empty()) return ready(Result<std::int64_t>{0});
    std::vector<std::string_view> args{"HDEL", key};
    args.insert(args.end(), fields.begin(), fields.end());
    // Redis deletes a hash left empty, as the interface asks.
    return wrote({key}, call<std::int64_t>(router_, key, Repeat::unsafe, encode_command(args), "HDEL", redis_reply::integer));
  }

  Async<std::int64_t> list_push(std::string key, std::string value) override {
    return wrote({key}, call<std::int64_t>(router_, key, Repeat::unsafe, encode_command({"RPUSH", key, value}), "RPUSH",
                                           redis_reply::integer));
  }

  Async<std::vector<std::string>> list_range(std::string key) override {
    std::string command = encode_command({"LRANGE", key, "0", "-1"});
    return read<std::vector<std::string>>(std::move(key), "", std::move(command), "LRANGE", redis_reply::strings);
  }

  Async<bool> commit_if(std::vector<Condition> conditions, std::vector<Write> writes) override {
    // Sent by the script's SHA1 (EVALSHA), by its text (about 2 KB) only when Redis does not know
    // it. Everything is encoded here, before returning, so the vectors need not outlive this.
    auto const encoded = redis_commit::encode(conditions, writes);
    auto const& keys = encoded.keys;
    std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> args{"EVALSHA", commit_if_.sha, key_count};
    args.reserve(3 + keys.size() + encoded.args.size());
    args.insert(args.end(), keys.begin(), keys.end());
    args.insert(args.end(), encoded.args.begin(), encoded.args.end());
    // A cluster runs one script on one node: every key must hash to one slot.
    if (auto placed = router_->one_command_may_touch(keys); !placed) return ready(Result<bool>(placed.error()));
    std::vector<std::string> written;
    for (Write const& w : writes) written.push_back(w.key);
    std::string route = keys.empty() ? std::string() : std::string(keys.front());
    return wrote(std::move(written), durable_call(router_, std::move(route), encode_command(args), "commit_if",
                                                  durability_, kCommitIf));
  }

 private:
  // A read of one key: through the near-cache when there is one.
  template <class T, class Decode>
  Async<T> read(std::string key, std::string slot, std::string command, std::string_view name, Decode decode) {
    if (!near_) return call<T>(router_, std::move(key), Repeat::safe, std::move(command), name, decode);
    return cached_call<T>(near_->conn, near_, std::move(key), std::move(slot), std::move(command), name, decode);
  }

  // A write of `keys`: dropped from the near-cache now and once answered.
  template <class T>
  Async<T> wrote(std::vector<std::string> keys, Async<T> op) {
    if (!near_) return op;
    for (auto const& key : keys) near_->cache->drop(key);
    return drop_after(near_, std::move(keys), std::move(op));
  }

  asio::any_io_executor executor_;
  Router router_;
  Near near_;
  std::string_view backend_;
  Durability durability_;
  redis_lua::Script const commit_if_ = redis_lua::make_lua_script(kCommitIf);
  redis_lua::Script const compare_and_set_ = redis_lua::make_lua_script(std::string(kCompareAndSet));
};

// Each worker thread gets its own store and connection. With a near-cache, the provider also
// owns the process's cache and its invalidation listener (a thread of its own).
class RedisProvider final : public StoreProvider {
 public:
  RedisProvider(RedisEndpoint endpoint, StoreOptions const& options)
      : endpoint_(std::move(endpoint)),
        before_fill_(options.near_cache_before_fill),
        durability_(durability_of(options)) {
    if (options.near_cache_keys == 0) return;
    core::Clock const& clock = options.clock ? *options.clock : own_clock_;
    cache_ = std::make_shared<NearCache>(options.near_cache_keys, options.near_cache_ttl, clock);
    listener_ = std::make_unique<InvalidationListener>(endpoint_, cache_, options.near_cache_heartbeat);
  }
  std::string_view backend() const override { return "redis"; }

  // On the worker thread, once: a new connection bound to that thread's executor. It does not
  // connect until the first command.
  std::shared_ptr<Store> store_for(asio::any_io_executor executor) override {
    auto conn = RedisConnection::create(executor, endpoint_);
    Near near;
    if (cache_) {
      near = std::make_shared<NearSide>(NearSide{cache_, conn, before_fill_, 0, 0});
      conn->on_connection_lost([cache = cache_] { cache->tracking_lost(); });
    }
    auto router = std::make_shared<SingleRouter>(std::move(conn));
    return std::make_shared<RedisStore>(executor, std::move(router), std::move(near), "redis", durability_);
  }

  std::optional<NearCacheStats> near_cache_stats() const override {
    if (!cache_) return std::nullopt;
    return cache_->stats();
  }

 private:
  RedisEndpoint endpoint_;
  std::function<void(std::string const&)> before_fill_;
  Durability durability_;
  core::SystemClock own_clock_;  // the cache's clock when the options give none
  std::shared_ptr<NearCache> cache_;
  std::unique_ptr<InvalidationListener> listener_;  // stopped before the cache goes
};

}  // namespace

std::shared_ptr<RedisRouter> make_single_router(std::shared_ptr<RedisConnection> conn) {
  return std::make_shared<SingleRouter>(std::move(conn));
}

std::shared_ptr<Store> make_routed_redis_store(asio::any_io_executor executor, std::shared_ptr<RedisRouter> router,
                                               std::string_view backend, StoreOptions const& options) {
  return std::make_shared<RedisStore>(std::move(executor), std::move(router), nullptr, backend,
                                      durability_of(options));
}

void check_wait_options(StoreOptions const& options) { (void)durability_of(options); }

asio::awaitable<Result<void>> confirm_replicated(AnsweredOn where, int replicas, Millis timeout) {
  std::string const wanted = std::to_string(replicas);
  std::string const within = millis(timeout);
  std::string command = encode_command({"WAIT", wanted, within});
  std::string const unknown = "committed on the master, its replication unknown: ";
  Connection conn = std::move(where.conn);
  if (!conn) co_return core::make_error(Errc::unavailable, unknown + "the router did not say where it ran");
  std::uint64_t serial = 0;
  auto reply = co_await conn->execute(std::move(command), &serial);
  if (!reply) co_return core::make_error(Errc::unavailable, unknown + reply.error().context);
  if (serial != where.serial) {
    // WAIT counts the writes of its own TCP connection: a new one has none, so any answer is void.
    co_return core::make_error(Errc::unavailable, unknown + "the connection was replaced between the write and WAIT");
  }
  auto confirmed = redis_reply::integer("WAIT", std::move(*reply));
  if (!confirmed) co_return core::make_error(Errc::unavailable, unknown + confirmed.error().context);
  if (*confirmed < replicas) {
    co_return core::make_error(Errc::unavailable, "committed on the master but confirmed by " +
                                                      std::to_string(*confirmed) + " of " + wanted +
                                                      " replicas within " + within + " ms");
  }
  co_return Result<void>{};
}

std::unique_ptr<StoreProvider> make_redis_provider(StoreUrl const& url,
                                                   StoreOptions const& options) {
  return std::make_unique<RedisProvider>(endpoint_for(url, options), options);
}

}  // namespace outboard::state
