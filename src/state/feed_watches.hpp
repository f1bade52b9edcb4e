#pragma once
// FeedProvider's watch counts, as every backend keeps them: two watch() need two unwatch().
// Thread-safe (one mutex): watch() and unwatch() come from any thread, readers ask from theirs.
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace outboard::state {

class FeedWatches {
 public:
  // True when this made the room watched (its first watch).
  bool add(std::string const& room) {
    std::lock_guard lock(mutex_);
    return ++counts_[room] == 1;
  }
  // True when this made the room unwatched (its last unwatch); an unwatch too many is ignored.
  bool remove(std::string const& room) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(room);
    if (it == counts_.end() || --it->second > 0) return false;
    counts_.erase(it);
    return true;
  }
  bool contains(std::string const& room) const {
    std::lock_guard lock(mutex_);
    return counts_.contains(room);
  }
  std::set<std::string> rooms() const {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    for (auto const& [room, count] : counts_) out.insert(room);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> counts_;
};

}  // namespace outboard::state
