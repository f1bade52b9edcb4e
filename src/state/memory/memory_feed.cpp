#include "state/memory/memory_feed.hpp"

#include "state/feed_watches.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace outboard::state {
namespace {

struct Room {
  std::int64_t last_seq = 0;
  std::int64_t expires_at = 0;   // clock ms: the log and counter go with it
  std::deque<FeedEntry> log;     // the last `history` entries, oldest first
};

// A dedupe key's memory: the seq it answered, until when. Keys are (room, dedupe key), kept apart
// from the room as redis keeps them in keys of their own (they expire on their own clock).
struct Remembered {
  std::int64_t seq = 0;
  std::int64_t expires_at = 0;
};
using DedupeKey = std::pair<std::string, std::string>;

// Every kSweepEvery appends, one pass erases the rooms whose TTL ran out that nobody touched
// again. Cost: O(rooms) under the lock, once per thousand appends.
constexpr std::uint64_t kSweepEvery = 1024;

// The whole process's feed behind one mutex: every call completes synchronously; the coroutine
// wrappers exist so the memory feed is a drop-in for the networked ones. The sink is called on
// the appending thread after the append, under delivery_mutex_ (taken before the state lock is
// released, so one room's entries reach the sink in seq order, and stop() can wait for a call in
// progress).
class MemoryFeedState {
 public:
  MemoryFeedState(core::Clock const& clock, FeedOptions const& options) : clock_(clock), options_(options) {
    options_.history = std::max<std::size_t>(options_.history, 1);
  }

  Appended append(std::string const& room, std::string body, std::string const& dedupe_key) {
    std::unique_lock lock(mutex_);
    std::int64_t const now = clock_.now_ms();
    bool const dedupe = options_.keep_history && !dedupe_key.empty();
    if (dedupe) {
      forget_expired_dedupe(now);
      auto seen = dedupe_.find(DedupeKey{room, dedupe_key});
      if (seen != dedupe_.end()) return {seen->second.seq, true};
    }
    Room& r = live_room(room, now);
    std::int64_t const seq = ++r.last_seq;
    r.expires_at = now + options_.history_ttl.count();
    if (options_.keep_history) {
      r.log.push_back(FeedEntry{seq, body});
      while (r.log.size() > options_.history) r.log.pop_front();
    }
    if (dedupe) remember(room, dedupe_key, seq, now);
    if (++appends_ % kSweepEvery == 0) sweep_rooms(now);
    deliver(std::move(lock), room, FeedEntry{seq, std::move(body)});
    return {seq, false};
  }

  History read_after(std::string const& room, std::int64_t after, std::size_t limit) {
    std::lock_guard lock(mutex_);
    History out;
    after = std::max<std::int64_t>(after, 0);
    auto it = rooms_.find(room);
    if (it == rooms_.end() || expired(it->second, clock_.now_ms())) return out;
    Room const& r = it->second;
    out.last_seq = r.last_seq;
    if (!options_.keep_history) return out;
    // The log holds consecutive seqs: the first entry above `after` is at a known offset.
    auto first = std::find_if(r.log.begin(), r.log.end(), [&](FeedEntry const& e) { return e.seq > after; });
    std::optional<std::int64_t> first_held;
    if (first != r.log.end()) first_held = first->seq;
    for (auto e = first; e != r.log.end() && out.entries.size() < limit; ++e) out.entries.push_back(*e);
    out.truncated = history_truncated(after, first_held, out.last_seq);
    return out;
  }

  void start(FeedSink& sink) {
    std::lock_guard delivering(delivery_mutex_);
    sink_ = &sink;
  }

  void stop() {
    std::lock_guard delivering(delivery_mutex_);  // waits for a call to the sink in progress
    sink_ = nullptr;
  }

  void watch(std::string const& room) { watches_.add(room); }
  void unwatch(std::string const& room) { watches_.remove(room); }

 private:
  bool expired(Room const& r, std::int64_t now) const { return r.expires_at <= now; }

  // The room as an append finds it: one whose TTL ran out starts again from seq 1, as a redis
  // counter that expired would.
  Room& live_room(std::string const& room, std::int64_t now) {
    Room& r = rooms_[room];
    if (r.last_seq != 0 && expired(r, now)) r = Room{};
    return r;
  }

  void remember(std::string const& room, std::string const& key, std::int64_t seq, std::int64_t now) {
    std::int64_t const until = now + options_.dedupe_ttl.count();
    dedupe_[DedupeKey{room, key}] = Remembered{seq, until};
    dedupe_order_.push_back(DedupeKey{room, key});
  }

  // dedupe_ttl is one constant, so keys expire in the order they were written: the front of
  // dedupe_order_ is the next to go. Cost: amortized O(1) per append.
  void forget_expired_dedupe(std::int64_t now) {
    while (!dedupe_order_.empty()) {
      auto it = dedupe_.find(dedupe_order_.front());
      if (it != dedupe_.end() && it->second.expires_at > now) break;
      if (it != dedupe_.end()) dedupe_.erase(it);
      dedupe_order_.pop_front();
    }
  }

  void sweep_rooms(std::int64_t now) {
    std::erase_if(rooms_, [&](auto const& item) { return expired(item.second, now); });
  }

  // Called with the state lock held; releases it before calling the sink.
  void deliver(std::unique_lock<std::mutex> lock, std::string const& room, FeedEntry entry) {
    if (!watches_.contains(room)) return;
    std::lock_guard delivering(delivery_mutex_);
    lock.unlock();
    if (!sink_) return;
    std::vector<FeedEntry> entries;
    entries.push_back(std::move(entry));
    sink_->entries(room, std::move(entries));
  }

  core::Clock const& clock_;
  FeedOptions options_;
  std::mutex mutex_;  // guards the rooms and dedupe keys
  std::unordered_map<std::string, Room> rooms_;
  std::map<DedupeKey, Remembered> dedupe_;
  std::deque<DedupeKey> dedupe_order_;  // write order, which is expiry order
  FeedWatches watches_;  // locks itself
  std::uint64_t appends_ = 0;
  std::mutex delivery_mutex_;  // guards sink_; held while the sink is called
  FeedSink* sink_ = nullptr;
};

class MemoryFeed final : public Feed {
 public:
  explicit MemoryFeed(std::shared_ptr<MemoryFeedState> state) : state_(std::move(state)) {}

  Async<Appended> append(std::string room, std::string body, std::string dedupe_key) override {
    co_return state_->append(room, std::move(body), dedupe_key);
  }

  Async<History> read_after(std::string room, std::int64_t after, std::size_t limit) override {
    co_return state_->read_after(room, after, limit);
  }

 private:
  std::shared_ptr<MemoryFeedState> state_;
};

class MemoryFeedProvider final : public FeedProvider {
 public:
  MemoryFeedProvider(core::Clock const& clock, FeedOptions const& options)
      : state_(std::make_shared<MemoryFeedState>(clock, options)), feed_(std::make_shared<MemoryFeed>(state_)) {}

  std::string_view backend() const override { return "memory"; }
  // One feed for every thread: it only forwards to the shared state.
  std::shared_ptr<Feed> feed_for(boost::asio::any_io_executor) override { return feed_; }
  void start(FeedSink& sink) override { state_->start(sink); }
  void watch(std::string const& room) override { state_->watch(room); }
  void unwatch(std::string const& room) override { state_->unwatch(room); }
  void stop() override { state_->stop(); }

 private:
  std::shared_ptr<MemoryFeedState> state_;
  std::shared_ptr<Feed> feed_;
};

}  // namespace

std::unique_ptr<FeedProvider> make_memory_feed(StoreOptions const& store, FeedOptions const& options) {
  if (!store.clock) throw std::invalid_argument("memory feed needs a clock");
  return std::make_unique<MemoryFeedProvider>(*store.clock, options);
}

}  // namespace outboard::state
