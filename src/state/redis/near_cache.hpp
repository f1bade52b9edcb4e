#pragma once
// The near-cache: a bounded, per-process copy of recently read Redis keys, kept coherent by
// Redis's CLIENT TRACKING (see docs/STATE.md). Pure bookkeeping, no sockets: the redis store asks
// it before a read and fills it after, the invalidation listener evicts from it.
//
// Shared by every worker thread of the process, under one mutex: one invalidation connection
// then serves the whole process (per-thread caches would each need their own, or a fan-out of
// every message to every thread), and a key read on one thread is a hit on the others. Every
// critical section is a hash lookup and a few list splices, never an await or a syscall.
//
// Placeholders: begin_read() leaves an entry for the key (with a fresh epoch) before the read is
// sent; an invalidation erases the entry; fill() stores the read's result only if the entry it
// started from is still there. So an invalidation that crosses the reply is never lost.
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "state/store.hpp"

namespace outboard::state {

// What a cached read returned: GET/HGET (optional string), HGETALL (map), LRANGE (list).
using CachedValue = std::variant<std::optional<std::string>, FieldMap, std::vector<std::string>>;


class NearCache {
 public:
  // What a read needs to fill the cache later: the placeholder's epoch, and the invalidation
  // connection (client id, generation) its data connection must redirect tracking to.
  struct Ticket {
    std::uint64_t epoch = 0;
    std::uint64_t generation = 0;
    std::int64_t client_id = 0;
  };

  // max_keys > 0 (keys beyond it evict the least recently used); every value is dropped `ttl`
  // after it was filled, whatever Redis says. `clock` must outlive the cache.
  NearCache(std::size_t max_keys, core::Millis ttl, core::Clock const& clock);

  // A hit (counted) or nullopt (a miss, counted). `slot` names the read: "" for GET and HGETALL
  // and LRANGE (one shape per key), "h:<field>" for HGET.
  std::optional<CachedValue> lookup(std::string const& key, std::string const& slot);
  // Leaves a placeholder for `key` (or keeps the entry there) and returns its ticket; nullopt
  // while the invalidation connection is down: the read must then bypass the cache.
  std::optional<Ticket> begin_read(std::string const& key);
  // Stores a read's result if the placeholder of `ticket` is still there. True if stored.
  bool fill(std::string const& key, std::string const& slot, Ticket const& ticket, CachedValue value);

  // This process writes `key`: drop it at once (not counted; Redis's message follows anyway).
  void drop(std::string const& key);
  // Redis says `key` changed (counted).
  void invalidate(std::string const& key);
  // Redis says everything changed (FLUSHALL/FLUSHDB): a flush.
  void invalidate_all();

  // The invalidation connection is subscribed as `client_id`: caching starts (a new generation).
  void linked(std::int64_t client_id);
  // The invalidation connection dropped: Redis stops telling us, so everything goes (a flush)
  // and reads bypass the cache until linked() again.
  void unlinked();
  // A data connection dropped: Redis no longer tracks the keys read through it, and which
  // entries those were is not recorded, so everything goes (a flush). Caching goes on.
  void tracking_lost();

  NearCacheStats stats() const;

 private:
  struct Filled {
    CachedValue value;
    std::int64_t filled_ms;
  };
  struct Entry {
    std::uint64_t epoch;
    std::map<std::string, Filled, std::less<>> values;  // empty: a placeholder
    std::list<std::string>::iterator recency;            // position in recency_
  };

  void erase_locked(std::string const& key);
  void clear_locked();

  std::size_t const max_keys_;
  core::Millis const ttl_;
  core::Clock const& clock_;

  mutable std::mutex mutex_;  // guards everything below
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recency_;  // most recently used first
  std::uint64_t next_epoch_ = 1;
  std::uint64_t generation_ = 0;
  std::int64_t client_id_ = 0;
  bool linked_ = false;
  NearCacheStats counts_;
};

}  // namespace outboard::state
