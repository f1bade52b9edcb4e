#include "state/redis/near_cache.hpp"

#include <cassert>
#include <utility>

namespace outboard::state {

NearCache::NearCache(std::size_t max_keys, core::Millis ttl, core::Clock const& clock)
    : max_keys_(max_keys), ttl_(ttl), clock_(clock) {
  assert(max_keys_ > 0);
}

std::optional<CachedValue> NearCache::lookup(std::string const& key, std::string const& slot) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    auto value = it->second.values.find(slot);
    if (value != it->second.values.end()) {
      if (clock_.now_ms() - value->second.filled_ms < ttl_.count()) {
        ++counts_.hits;
        recency_.splice(recency_.begin(), recency_, it->second.recency);
        return value->second.value;
      }
      it->second.values.erase(value);  // past its TTL: read again (same epoch, still tracked)
    }
  }
  ++counts_.misses;
  return std::nullopt;
}

std::optional<NearCache::Ticket> NearCache::begin_read(std::string const& key) {
  std::lock_guard lock(mutex_);
  if (!linked_) return std::nullopt;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) erase_locked(recency_.back());
    recency_.push_front(key);
    it = entries_.emplace(key, Entry{next_epoch_++, {}, recency_.begin()}).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  return Ticket{it->second.epoch, generation_, client_id_};
}

bool NearCache::fill(std::string const& key, std::string const& slot, Ticket const& ticket, CachedValue value) {
  std::lock_guard lock(mutex_);
  // A flush or a new generation erased every entry, so the epoch check covers them too; the
  // generation is compared anyway, as the ticket's tracking redirect points at that link.
  if (!linked_ || ticket.generation != generation_) return false;
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.epoch != ticket.epoch) return false;  // invalidated meanwhile
  it->second.values.insert_or_assign(slot, Filled{std::move(value), clock_.now_ms()});
  return true;
}

void NearCache::drop(std::string const& key) {
  std::lock_guard lock(mutex_);
  erase_locked(key);
}

void NearCache::invalidate(std::string const& key) {
  std::lock_guard lock(mutex_);
  ++counts_.invalidations;
  erase_locked(key);
}

void NearCache::invalidate_all() {
  std::lock_guard lock(mutex_);
  ++counts_.flushes;
  clear_locked();
}

void NearCache::linked(std::int64_t client_id) {
  std::lock_guard lock(mutex_);
  clear_locked();  // nothing filled under an older link may survive into this one
  ++generation_;
  client_id_ = client_id;
  linked_ = true;
}

void NearCache::unlinked() {
  std::lock_guard lock(mutex_);
  if (!linked_) return;  // a failed reconnect: nothing cached since the last flush
  ++counts_.flushes;
  ++generation_;
  linked_ = false;
  clear_locked();
}

void NearCache::tracking_lost() {
  std::lock_guard lock(mutex_);
  ++counts_.flushes;
  clear_locked();
}

NearCacheStats NearCache::stats() const {
  std::lock_guard lock(mutex_);
  NearCacheStats s = counts_;
  s.entries = entries_.size();
  s.linked = linked_;
  return s;
}

void NearCache::erase_locked(std::string const& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

void NearCache::clear_locked() {
  entries_.clear();
  recency_.clear();
}

}  // namespace outboard::state
