#include "state/postgres/pg_feed.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/any_io_executor.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "state/feed_watches.hpp"
#include "state/postgres/pg_codec.hpp"
#include "state/postgres/pg_connection.hpp"
#include "state/postgres/pg_database.hpp"
#include "state/postgres/pg_feed_sql.hpp"
#include "state/postgres/pg_libpq.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr char const* kFeedAppend = "SELECT * FROM outboard_feed_append($1, $2, $3, $4, $5, $6, $7)";
// The room's counter and its entries above $2 from one snapshot; one row with NULL entry columns
// when it has none, no row when the room is unknown or expired.
constexpr char const* kFeedHistory =
    "SELECT r.last_seq, e.seq, e.body FROM outboard_feed_rooms r "
    "LEFT JOIN outboard_feed_entries e ON e.room = r.room AND e.seq > $2 "
    "WHERE r.room = $1 AND r.expires_at > outboard_now_ms() ORDER BY e.seq LIMIT $3";
// What the reader fetches when notified of seqs low..high of a room.
constexpr char const* kFeedFetch =
    "SELECT seq, body FROM outboard_feed_entries WHERE room = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq";
constexpr int kBinaryFormat = 1;

class PgFeed final : public Feed {
 public:
  PgFeed(std::shared_ptr<PgConnection> connection, FeedOptions const& options)
      : db_(std::move(connection)), options_(options) {
    options_.history = std::max<std::size_t>(options_.history, 1);
  }
  ~PgFeed() override { db_->close(); }

  Async<Appended> append(std::string room, std::string body, std::string dedupe_key) override {
    auto db = db_;
    PgParams params = PgParams{}.bytes(room).bytes(body).bytes(dedupe_key);
    params.int8(static_cast<std::int64_t>(options_.history)).int8(options_.history_ttl.count());
    params.int8(options_.dedupe_ttl.count()).boolean(options_.keep_history);
    auto rows = co_await db->execute(kFeedAppend, std::move(params));
    if (!rows) co_return rows.error();
    if (rows->rows.empty() || rows->rows.front().size() != 2) {
      co_return core::make_error(Errc::internal, "postgres feed: append returned no row");
    }
    auto& row = rows->rows.front();
    auto seq = decode_int8(row[0]);
    if (!seq) co_return seq.error();
    auto duplicate = decode_bool(row[1]);
    if (!duplicate) co_return duplicate.error();
    co_return Appended{*seq, *duplicate};
  }

  Async<History> read_after(std::string room, std::int64_t after, std::size_t limit) override {
    auto db = db_;
    after = std::max<std::int64_t>(after, 0);
    // One row more than asked when the limit is 0: the first held entry decides `truncated`.
    auto wanted = static_cast<std::int64_t>(std::max<std::size_t>(limit, 1));
    if (!options_.keep_history) wanted = 1;
    PgParams params = PgParams{}.bytes(room).int8(after).int8(wanted);
    auto rows = co_await db->execute(kFeedHistory, std::move(params));
    if (!rows) co_return rows.error();
    History out;
    std::optional<std::int64_t> first_held;
    for (auto& row : rows->rows) {
      if (row.size() != 3) co_return core::make_error(Errc::internal, "postgres feed: malformed history row");
      auto last = decode_int8(row[0]);
      if (!last) co_return last.error();
      out.last_seq = *last;
      if (!row[1] || !options_.keep_history) continue;
      auto seq = decode_int8(row[1]);
      if (!seq) co_return seq.error();
      if (!first_held) first_held = *seq;
      if (out.entries.size() < limit) out.entries.push_back(FeedEntry{*seq, row[2].value_or(std::string())});
    }
    if (options_.keep_history) out.truncated = history_truncated(after, first_held, out.last_seq);
    co_return out;
  }

 private:
  std::shared_ptr<PgConnection> db_;
  FeedOptions options_;
};

// Seqs low..high of one room, heard in one run of consecutive notifications.
struct Heard {
  std::string room;
  std::int64_t low = 0;
  std::int64_t high = 0;
};

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    unsigned byte = 0;
    auto [ptr, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, byte, 16);
    if (ec != std::errc{} || ptr != hex.data() + 2 * i + 2) return std::nullopt;
    out[i] = static_cast<char>(byte);
  }
  return out;
}

// "<room hex>:<seq>", as outboard_feed_append sends it; nullopt for anything else.
std::optional<std::pair<std::string, std::int64_t>> parse_notification(std::string_view payload) {
  auto colon = payload.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto room = from_hex(payload.substr(0, colon));
  std::int64_t seq = 0;
  auto digits = payload.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (!room || ec != std::errc{} || ptr != digits.data() + digits.size()) return std::nullopt;
  return std::pair{std::move(*room), seq};
}

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using BlockingConn = std::unique_ptr<PGconn, ConnCloser>;

// The process's reader: a thread with one blocking connection that LISTENs. The sink is called on
// that thread only, so once stop() has joined it nothing calls the sink. A lost connection is
// made again (50 ms backoff doubling to 1 s), then the sink is told to resync: notifications sent
// while it was away are lost.
class PgFeedReader {
 public:
  explicit PgFeedReader(PgEndpoint endpoint) : endpoint_(std::move(endpoint)), wake_(::eventfd(0, EFD_CLOEXEC)) {
    if (wake_ < 0) throw std::runtime_error("postgres feed reader: no eventfd");
  }
  ~PgFeedReader() {
    stop();
    ::close(wake_);
  }

  // Start-up: listens before returning (throws std::runtime_error if it cannot), so every append
  // committed after start() is heard.
  void start(FeedSink& sink) {
    if (thread_.joinable()) return;
    auto conn = listen();
    if (!conn) throw std::runtime_error(conn.error().context);
    stopping_ = false;
    thread_ = std::thread([this, &sink, c = std::move(*conn)]() mutable { read_until_stopped(sink, std::move(c)); });
  }

  void stop() {
    stopping_ = true;
    std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    std::uint64_t drained = 0;
    pollfd p{wake_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) (void)!::read(wake_, &drained, sizeof drained);
  }

  void watch(std::string const& room) { watches_.add(room); }
  void unwatch(std::string const& room) { watches_.remove(room); }

 private:
  Result<BlockingConn> listen() const {
    std::string options = "-c statement_timeout=" + std::to_string(endpoint_.command_timeout.count());
    PgConnectParams params(endpoint_.url, endpoint_.command_timeout, "outboard-feed", options);
    BlockingConn conn(PQconnectdbParams(params.keywords(), params.values(), 1));
    std::string const where = "postgres '" + endpoint_.redacted + "' feed reader";
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      return core::make_error(Errc::unavailable, where + ": cannot connect: " + pg_connection_message(conn.get()));
    }
    PQsetNoticeProcessor(conn.get(), [](void*, char const*) {}, nullptr);
    std::string listen_sql = std::string("LISTEN ") + kFeedChannel;
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(conn.get(), listen_sql.c_str()), PQclear);
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return core::make_error(Errc::unavailable, where + ": cannot LISTEN: " + pg_connection_message(conn.get()));
    }
    return conn;
  }

  void read_until_stopped(FeedSink& sink, BlockingConn conn) {
    core::Millis backoff = 50ms;
    while (!stopping_) {
      if (!conn) {
        auto again = listen();
        if (!again) {
          if (!wait_for(-1, backoff)) return;
          backoff = std::min<core::Millis>(backoff * 2, 1000ms);
          continue;
        }
        conn = std::move(*again);
        backoff = 50ms;
        sink.resync();
      }
      if (!deliver_pending(sink, conn.get())) {
        conn.reset();
        continue;
      }
      if (!wait_for(PQsocket(conn.get()), std::nullopt)) return;
      // A server shutting down sends an error, then closes: either way the link is gone.
      if (!PQconsumeInput(conn.get()) || PQstatus(conn.get()) == CONNECTION_BAD) conn.reset();
    }
  }

  // Waits until `fd` is readable (true), `timeout` passes (true) or stop() (false).
  bool wait_for(int fd, std::optional<core::Millis> timeout) {
    pollfd fds[2] = {{wake_, POLLIN, 0}, {fd, POLLIN, 0}};
    int n = ::poll(fds, fd >= 0 ? 2 : 1, timeout ? static_cast<int>(timeout->count()) : -1);
    return !(n > 0 && (fds[0].revents & POLLIN)) && !stopping_;
  }

  // Delivers what the notifications received so far name, until none is left (a fetch may bring
  // more in). false: the connection failed.
  bool deliver_pending(FeedSink& sink, PGconn* conn) {
    for (;;) {
      std::vector<Heard> heard;
      while (PGnotify* n = PQnotifies(conn)) {
        auto parsed = parse_notification(n->extra ? n->extra : "");
        PQfreemem(n);
        if (!parsed) continue;
        auto& [room, seq] = *parsed;
        if (!heard.empty() && heard.back().room == room) {
          heard.back().low = std::min(heard.back().low, seq);
          heard.back().high = std::max(heard.back().high, seq);
        } else {
          heard.push_back(Heard{std::move(room), seq, seq});
        }
      }
      if (heard.empty()) return true;
      for (auto const& run : heard) {
        if (!watches_.contains(run.room)) continue;
        auto entries = fetch(conn, run);
        if (!entries) return false;
        if (!entries->empty()) sink.entries(run.room, std::move(*entries));
      }
    }
  }

  Result<std::vector<FeedEntry>> fetch(PGconn* conn, Heard const& run) const {
    PgParams params = PgParams{}.bytes(run.room).int8(run.low).int8(run.high);
    auto values = params.values();
    auto lengths = params.lengths();
    std::vector<int> formats(values.size(), kBinaryFormat);
    std::unique_ptr<PGresult, void (*)(PGresult*)> result(
        PQexecParams(conn, kFeedFetch, params.count(), params.types().data(), values.data(), lengths.data(),
                     formats.data(), kBinaryFormat),
        PQclear);
    if (!result) return core::make_error(Errc::unavailable, "postgres feed reader: " + pg_connection_message(conn));
    auto rows = pg_rows(result.get(), "postgres feed reader");
    if (!rows) return rows.error();
    std::vector<FeedEntry> entries;
    for (auto& row : rows->rows) {
      if (row.size() != 2) continue;
      auto seq = decode_int8(row[0]);
      if (seq) entries.push_back(FeedEntry{*seq, row[1].value_or(std::string())});
    }
    return entries;
  }

  PgEndpoint endpoint_;
  FeedWatches watches_;
  std::atomic<bool> stopping_{false};
  int wake_;  // an eventfd stop() writes to, so a reader blocked in poll() returns at once
  std::thread thread_;
};

// One connection per worker thread for appends and reads, plus the reader's own.
class PgFeedProvider final : public FeedProvider {
 public:
  PgFeedProvider(PgEndpoint endpoint, FeedOptions const& options)
      : endpoint_(std::move(endpoint)), options_(options), reader_(endpoint_) {}
  ~PgFeedProvider() override { reader_.stop(); }

  std::string_view backend() const override { return "postgres"; }
  std::shared_ptr<Feed> feed_for(asio::any_io_executor executor) override {
    return std::make_shared<PgFeed>(PgConnection::create(std::move(executor), endpoint_), options_);
  }
  void start(FeedSink& sink) override { reader_.start(sink); }
  void watch(std::string const& room) override { reader_.watch(room); }
  void unwatch(std::string const& room) override { reader_.unwatch(room); }
  void stop() override { reader_.stop(); }

 private:
  PgEndpoint endpoint_;
  FeedOptions options_;
  PgFeedReader reader_;  // declared last: it copies endpoint_
};

}  // namespace

std::unique_ptr<FeedProvider> make_postgres_feed(StoreUrl const& url, StoreOptions const& store,
                                                 FeedOptions const& options) {
  return std::make_unique<PgFeedProvider>(open_postgres_database(url, store), options);
}

}  // namespace outboard::state
