#include "state/sqlite/sqlite_feed.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "state/feed_watches.hpp"
#include "state/sqlite/sqlite_connection_pool.hpp"
#include "state/sqlite/sqlite_feed_log.hpp"
#include "state/sqlite/sqlite_schema.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// The most rows one poll query returns; a reader that finds this many asks again at once.
constexpr std::int64_t kPollBatch = 1000;
// Every kFeedSweepEveryPolls polls (about a second at the default 20 ms), the reader deletes up to
// kFeedSweepBatch expired rooms and dedupe keys. Every process's reader does it; any one would do.
constexpr int kFeedSweepEveryPolls = 50;
constexpr std::int64_t kFeedSweepBatch = 64;

// What every worker thread's feed shares: the connections and the threads its statements run on
// (never an event loop). Ownership as for the sqlite store: a caller's io_context must outlive
// its calls in flight.
class SqliteFeedCore {
 public:
  SqliteFeedCore(std::string const& path, core::Clock const& clock, FeedOptions const& options, int threads,
                 Millis busy_timeout)
      : log_(clock, options), connections_(path, threads, busy_timeout) {
    auto connection = connections_.acquire();
    create_feed_schema(*connection);
  }

  SqliteFeedLog const& log() const { return log_; }

  // Runs work(connection) on a pool thread (see SqliteConnectionPool::run).
  template <class F>
  auto run(F work) -> asio::awaitable<std::invoke_result_t<F&, SqliteConnection&>> {
    return connections_.run(std::move(work));
  }

 private:
  SqliteFeedLog log_;
  SqliteConnectionPool connections_;  // declared last: its threads use log_
};

class SqliteFeed final : public Feed {
 public:
  explicit SqliteFeed(std::shared_ptr<SqliteFeedCore> core) : core_(std::move(core)) {}

  Async<Appended> append(std::string room, std::string body, std::string dedupe_key) override {
    return core_->run([core = core_, room = std::move(room), body = std::move(body),
                       key = std::move(dedupe_key)](SqliteConnection& c) {
      return core->log().append(c, room, body, key);
    });
  }

  Async<History> read_after(std::string room, std::int64_t after, std::size_t limit) override {
    return core_->run([core = core_, room = std::move(room), after, limit](SqliteConnection& c) {
      return core->log().read_after(c, room, after, limit);
    });
  }

 private:
  std::shared_ptr<SqliteFeedCore> core_;
};

// The process's reader: a thread polling the file with a connection of its own. Watches are
// counted under mutex_; the sink is called on the reader's thread only, so once stop() has joined
// it nothing calls the sink.
class SqliteFeedReader {
 public:
  SqliteFeedReader(std::string path, Millis busy_timeout, SqliteFeedLog const& log, Millis interval)
      : path_(std::move(path)), busy_timeout_(busy_timeout), log_(log), interval_(std::max(interval, 1ms)) {}
  ~SqliteFeedReader() { stop(); }

  // Start-up: opens the reader's connection (throws std::runtime_error if it cannot) and starts
  // from the newest row, so what was appended before is not delivered.
  void start(FeedSink& sink) {
    if (thread_.joinable()) return;
    auto connection = std::make_unique<SqliteConnection>(path_, busy_timeout_);
    configure_connection(*connection);
    auto last = log_.last_id(*connection);
    if (!last) throw std::runtime_error("sqlite feed reader: " + last.error().context);
    stopping_ = false;
    thread_ = std::thread([this, &sink, c = std::move(connection), cursor = *last]() mutable {
      read_until_stopped(sink, *c, cursor);
    });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void watch(std::string const& room) { watches_.add(room); }
  void unwatch(std::string const& room) { watches_.remove(room); }

 private:
  void read_until_stopped(FeedSink& sink, SqliteConnection& c, std::int64_t cursor) {
    for (int polls = 1;; ++polls) {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
      }
      poll(sink, c, cursor);
      // Best effort: a failed sweep (busy) leaves the rows for the next; reads never see them.
      if (polls % kFeedSweepEveryPolls == 0) (void)log_.sweep(c, kFeedSweepBatch);
    }
  }

  // Delivers every row above the cursor, batch by batch. A failed query (busy, I/O) leaves the
  // cursor where it was: the next poll tries again, nothing is skipped by it.
  void poll(FeedSink& sink, SqliteConnection& c, std::int64_t& cursor) {
    for (;;) {
      auto rows = log_.poll(c, cursor, kPollBatch);
      if (!rows || rows->empty()) return;
      cursor = rows->back().id;
      bool const more = static_cast<std::int64_t>(rows->size()) == kPollBatch;
      deliver(sink, std::move(*rows));
      if (!more) return;
    }
  }

  // Consecutive rows of one room go to the sink in one call.
  void deliver(FeedSink& sink, std::vector<PolledEntry> rows) {
    std::size_t i = 0;
    while (i < rows.size()) {
      std::string room = std::move(rows[i].room);
      std::vector<FeedEntry> entries;
      entries.push_back(std::move(rows[i].entry));
      for (++i; i < rows.size() && rows[i].room == room; ++i) entries.push_back(std::move(rows[i].entry));
      if (watches_.contains(room)) sink.entries(room, std::move(entries));
    }
  }

  std::string path_;
  Millis busy_timeout_;
  SqliteFeedLog const& log_;
  Millis interval_;
  FeedWatches watches_;
  std::mutex mutex_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

class SqliteFeedProvider final : public FeedProvider {
 public:
  SqliteFeedProvider(std::string const& path, StoreOptions const& store, FeedOptions const& options)
      : core_(std::make_shared<SqliteFeedCore>(path, *store.clock, options, std::max(store.sqlite_threads, 1),
                                               busy_timeout(store))),
        feed_(std::make_shared<SqliteFeed>(core_)),
        reader_(path, busy_timeout(store), core_->log(), options.poll_interval) {}
  ~SqliteFeedProvider() override { reader_.stop(); }

  std::string_view backend() const override { return "sqlite"; }
  // One feed for every worker thread, as the sqlite store does: sqlite serializes writers anyway.
  std::shared_ptr<Feed> feed_for(asio::any_io_executor) override { return feed_; }
  void start(FeedSink& sink) override { reader_.start(sink); }
  void watch(std::string const& room) override { reader_.watch(room); }
  void unwatch(std::string const& room) override { reader_.unwatch(room); }
  void stop() override { reader_.stop(); }

 private:
  static Millis busy_timeout(StoreOptions const& store) { return busy_timeout_for(store.command_timeout); }

  std::shared_ptr<SqliteFeedCore> core_;
  std::shared_ptr<Feed> feed_;
  SqliteFeedReader reader_;  // refers to core_'s log: declared after it
};

}  // namespace

std::unique_ptr<FeedProvider> make_sqlite_feed(std::string const& path, StoreOptions const& store,
                                               FeedOptions const& options) {
  if (!store.clock) throw std::invalid_argument("sqlite feed '" + path + "' needs a clock");
  return std::make_unique<SqliteFeedProvider>(path, store, options);
}

}  // namespace outboard::state
