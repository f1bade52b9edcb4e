#pragma once
// The state layer: one interface over every backend (memory, sqlite, redis; postgres later).
// What a server keeps between requests lives behind this, so any server can answer any request.
//
// Every call is a coroutine on the caller's executor and returns Result<T>: a store that cannot
// be reached yields Errc::unavailable, one that does not answer in time Errc::timeout; callers
// turn both into a 503, never into "no such session".
//
// Keys share one namespace across types (string, counter, hash, list), as in Redis: del, expire
// and pttl work on a key of any type; using a key as the wrong type is Errc::invalid.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace outboard::state {

using core::Errc;
using core::Error;
using core::Millis;
using core::Result;

template <class T>
using Async = boost::asio::awaitable<Result<T>>;

using Fields = std::vector<std::pair<std::string, std::string>>;
using FieldMap = std::map<std::string, std::string>;

// pttl() answers, as Redis's PTTL does.
inline constexpr std::int64_t kNoKey = -2;
inline constexpr std::int64_t kNoExpiry = -1;

// --- multi-key transactions ---
// A guard checked and a list of writes applied as one atomic step, across keys: either every
// condition holds and every write is applied, or nothing is written. What checkout uses to create
// an order and empty a cart at once. Keys of one transaction should share a "{tag}" so a Redis
// Cluster can place them on one node.
struct Condition {
  enum class Kind {
    key_absent,         // no key `key` (of any type)
    hash_field_absent,  // the hash `key` has no field `field`
    hash_len_equals,    // the hash `key` has exactly `count` fields (0 when missing)
    value_equals,       // the string `key` exists and its value is exactly `field` (a job's fence)
  };
  Kind kind;
  std::string key;
  std::string field;
  std::int64_t count = 0;

  static Condition absent(std::string k) { return {Kind::key_absent, std::move(k), {}, 0}; }
  static Condition field_absent(std::string k, std::string f) {
    return {Kind::hash_field_absent, std::move(k), std::move(f), 0};
  }
  static Condition hash_len(std::string k, std::int64_t n) { return {Kind::hash_len_equals, std::move(k), {}, n}; }
  // The value is kept in `field`; a key of another type fails the condition (not Errc::invalid).
  static Condition equals(std::string k, std::string value) {
    return {Kind::value_equals, std::move(k), std::move(value), 0};
  }
};

struct Write {
  enum class Kind {
    set,   // key = value (ttl as in Store::set)
    hset,  // key.field = value (ttl, when given, as in Store::hset)
    del,   // remove key (any type)
    push,  // append value to the list `key` (created when missing; ttl, when given, set on the key)
  };
  Kind kind;
  std::string key;
  std::string field;
  std::string value;
  std::optional<Millis> ttl;

  static Write set(std::string k, std::string v, std::optional<Millis> t = {}) {
    return {Kind::set, std::move(k), {}, std::move(v), t};
  }
  static Write hset(std::string k, std::string f, std::string v, std::optional<Millis> t = {}) {
    return {Kind::hset, std::move(k), std::move(f), std::move(v), t};
  }
  static Write del(std::string k) { return {Kind::del, std::move(k), {}, {}, {}}; }
  static Write push(std::string k, std::string v, std::optional<Millis> t = {}) {
    return {Kind::push, std::move(k), {}, std::move(v), t};
  }
};

class Store {
 public:
  virtual ~Store() = default;

  // "memory", "sqlite", "redis", "redis-cluster" or "postgres": for logs and metrics.
  virtual std::string_view backend() const = 0;

  // Succeeds when the store answers; what /readyz asks.
  virtual Async<void> ping() = 0;

  // --- key/value, with optional TTL ---
  virtual Async<std::optional<std::string>> get(std::string key) = 0;
  // Overwrites value and TTL (no ttl: the key no longer expires).
  virtual Async<void> set(std::string key, std::string value, std::optional<Millis> ttl = {}) = 0;
  // Writes only if the key does not exist; true if it wrote. Atomic across processes.
  virtual Async<bool> set_if_absent(std::string key, std::string value,
                                    std::optional<Millis> ttl = {}) = 0;
  // Removes a key of any type; true if it existed.
  virtual Async<bool> del(std::string key) = 0;
  // Sets the TTL of an existing key of any type; false if there is no such key.
  virtual Async<bool> expire(std::string key, Millis ttl) = 0;
  // Remaining TTL in ms, kNoExpiry, or kNoKey.
  virtual Async<std::int64_t> pttl(std::string key) = 0;

  // --- atomic read-modify-write ---
  // Replaces the value with `desired` only if the current value equals `expected` (nullopt:
  // only if the key is absent). True if it swapped. The TTL is set as in set().
  virtual Async<bool> compare_and_set(std::string key, std::optional<std::string> expected,
                                      std::string desired, std::optional<Millis> ttl = {}) = 0;

  // --- counters ---
  // Adds delta (a missing key counts as 0) and returns the new value; keeps an existing TTL.
  virtual Async<std::int64_t> incr_by(std::string key, std::int64_t delta) = 0;

  // --- hashes (sessions): each field written atomically on its own ---
  virtual Async<std::optional<std::string>> hget(std::string key, std::string field) = 0;
  // All fields; an empty map when the key does not exist.
  virtual Async<FieldMap> hgetall(std::string key) = 0;
  // Writes the given fields (others are untouched) and, when ttl is given, sets the key's TTL,
  // all in one atomic step.
  virtual Async<void> hset(std::string key, Fields fields, std::optional<Millis> ttl = {}) = 0;
  // Removes fields; returns how many existed. A hash left empty disappears.
  virtual Async<std::int64_t> hdel(std::string key, std::vector<std::string> fields) = 0;

  // --- per-key collections (cart lines): ordered lists ---
  // Appends and returns the new length.
  virtual Async<std::int64_t> list_push(std::string key, std::string value) = 0;
  // Every item, oldest first; empty when the key does not exist.
  virtual Async<std::vector<std::string>> list_range(std::string key) = 0;

  // --- transactions ---
  // True when every condition held and all writes were applied atomically; false (nothing
  // written) when a condition failed. Using a key as the wrong type is Errc::invalid.
  virtual Async<bool> commit_if(std::vector<Condition> conditions, std::vector<Write> writes) = 0;
};

// Everything a backend needs from the process that opens it; passed in, never global.
struct StoreOptions {
  // memory and sqlite expire keys by it (redis and postgres use the engine's clock); must outlive the store
  const core::Clock* clock = nullptr;
  // redis: per command; sqlite: busy timeout; postgres: per statement (also its statement_timeout)
  Millis command_timeout{1000};
  int sqlite_threads = 2;             // sqlite: worker threads running statements off the event loop
  // redis: the near-cache (docs/STATE.md). 0 keys: off. Otherwise at most this many keys are
  // held per process, each value for at most near_cache_ttl, coherent through CLIENT TRACKING;
  // the invalidation connection sends a PING every heartbeat and is dropped (the cache flushed)
  // when it has been silent for heartbeat + command_timeout.
  std::size_t near_cache_keys = 0;
  Millis near_cache_ttl{10'000};
  Millis near_cache_heartbeat{1000};
  // redis, redis-cluster: durability of the chosen writes, commit_if and compare_and_set (what
  // records, checkouts, job effects and idempotency answers are committed with; docs/STATE.md,
  // "WAIT"). 0: off. Otherwise each is followed by `WAIT wait_replicas wait_timeout` on the
  // connection that ran it, and answers Errc::unavailable (the write done on the master, but not
  // confirmed) when fewer replicas confirmed it in time. wait_timeout must be >= 1 ms (WAIT 0
  // would block for ever) and below command_timeout (the connection's own timeout would fire
  // first). Other backends ignore both.
  int wait_replicas = 0;
  Millis wait_timeout{100};
  // Tests only: called on a cached read after its reply arrived and before the cache is filled,
  // so a test can make an invalidation cross the reply on a real redis-server.
  std::function<void(std::string const& key)> near_cache_before_fill;
};

// What a store's near-cache did (docs/STATE.md); counters since start.
struct NearCacheStats {
  std::uint64_t hits = 0;           // reads answered from the cache, no store command
  std::uint64_t misses = 0;         // reads that went to Redis (bypassed ones included)
  std::uint64_t invalidations = 0;  // keys Redis told us changed (each evicts, cached or not)
  std::uint64_t flushes = 0;        // whole-cache flushes: the invalidation or a data connection lost, or Redis flushed a database
  std::uint64_t entries = 0;        // keys held now, placeholders included
  bool linked = false;              // the invalidation connection is subscribed
};

// One per process and URL. Hands each worker thread the Store it should use: redis gives every
// event loop its own pipelined connection; memory and sqlite hand out one shared, thread-safe store.
class StoreProvider {
 public:
  virtual ~StoreProvider() = default;
  virtual std::string_view backend() const = 0;
  // Called once per worker thread, on that thread, before it serves requests.
  virtual std::shared_ptr<Store> store_for(boost::asio::any_io_executor executor) = 0;
  // The near-cache's counts; nullopt when this store has none. Any thread.
  virtual std::optional<NearCacheStats> near_cache_stats() const { return std::nullopt; }
};

// memory://  sqlite:///abs/path.db  sqlite://relative/path.db  redis://[:password@]host:port[/db]
// redis-cluster://[:password@]host:port[,host:port...]  postgres://user[:password]@host:port/db
// Throws std::invalid_argument with a readable reason for a malformed or unknown URL (start-up
// only). Opening a redis provider does not connect: connections are made per thread, lazily.
std::unique_ptr<StoreProvider> open_store(std::string_view url, StoreOptions const& options);

}  // namespace outboard::state
