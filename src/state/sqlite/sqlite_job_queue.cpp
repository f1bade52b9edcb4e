#include "state/sqlite/sqlite_job_queue.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "state/job_spec.hpp"
#include "state/sqlite/sqlite_connection_pool.hpp"
#include "state/sqlite/sqlite_keyspace.hpp"
#include "state/sqlite/sqlite_schema.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;

// jobs.state (sqlite_schema.cpp).
constexpr std::int64_t kWaiting = 0;
constexpr std::int64_t kRunning = 1;
constexpr std::int64_t kDone = 2;
constexpr std::int64_t kDead = 3;

// Every kJobSweepEvery writes, one pool job deletes up to kJobSweepBatch done rows past done_ttl that
// nobody enqueued again (reads already treat them as gone).
constexpr std::uint32_t kJobSweepEvery = 256;
constexpr std::int64_t kJobSweepBatch = 256;

// Columns 0-12, in the order job_from() reads them.
constexpr std::string_view kSelectJob =
    "SELECT id, type, key, payload, state, attempts, max_attempts, fence, last_error, run_at, lease_until, "
    "worker, finished_at FROM jobs WHERE id = ?1";
constexpr std::string_view kSelectDead =
    "SELECT id, type, key, payload, state, attempts, max_attempts, fence, last_error, run_at, lease_until, "
    "worker, finished_at FROM jobs WHERE state = 3 ORDER BY finished_at, id LIMIT ?1";
constexpr std::string_view kInsertJob =
    "INSERT INTO jobs(id, type, key, payload, state, attempts, max_attempts, fence, last_error, run_at, "
    "lease_until, worker, finished_at) VALUES(?1, ?2, ?3, ?4, 0, 0, ?5, ?6, X'', ?7, 0, X'', 0)";
constexpr std::string_view kDeleteJob = "DELETE FROM jobs WHERE id = ?1";
constexpr std::string_view kRenew = "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND state = 1 AND fence = ?2";
constexpr std::string_view kComplete =
    "UPDATE jobs SET state = 2, lease_until = 0, finished_at = ?3 WHERE id = ?1 AND state = 1 AND fence = ?2";
// ?4: retry in ms, NULL for never. Every SET expression reads the row as it was.
constexpr std::string_view kFail =
    "UPDATE jobs SET last_error = ?3, lease_until = 0, "
    "state = CASE WHEN ?4 IS NULL OR attempts >= max_attempts THEN 3 ELSE 0 END, "
    "run_at = CASE WHEN ?4 IS NULL OR attempts >= max_attempts THEN run_at ELSE ?5 + ?4 END, "
    "finished_at = CASE WHEN ?4 IS NULL OR attempts >= max_attempts THEN ?5 ELSE finished_at END "
    "WHERE id = ?1 AND state = 1 AND fence = ?2";
constexpr std::string_view kRetryDead =
    "UPDATE jobs SET state = 0, attempts = 0, run_at = ?2, lease_until = 0 WHERE id = ?1 AND state = 3";
constexpr std::string_view kDropDead = "DELETE FROM jobs WHERE id = ?1 AND state = 3";
// Cost: a scan of the table (operations and metrics only, not per job).
constexpr std::string_view kCounts =
    "SELECT coalesce(sum(state = 0 AND run_at <= ?1), 0), coalesce(sum(state = 0 AND run_at > ?1), 0), "
    "coalesce(sum(state = 1), 0), coalesce(sum(state = 3), 0) FROM jobs";
constexpr std::string_view kSweepDone =
    "DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE state = 2 AND finished_at <= ?1 LIMIT ?2)";

// "?first, ?first+1, ..." for `count` parameters.
std::string params(int first, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ", ";
    out += '?' + std::to_string(first + static_cast<int>(i));
  }
  return out;
}

// Running jobs of the types (?2...) whose lease ran out (before ?1) with no attempts left: dead.
std::string exhaust_sql(std::size_t types) {
  return "UPDATE jobs SET state = 3, last_error = 'lease expired', lease_until = 0, finished_at = ?1 "
         "WHERE state = 1 AND type IN (" + params(2, types) + ") AND lease_until < ?1 AND attempts >= max_attempts";
}

// The claim: one UPDATE of the earliest claimable row of the types (?4...) at ?1: per type, the
// first waiting row due (index jobs_waiting, one step) and the running row whose lease ran out
// with the earliest run_at (index jobs_running: only the expired ones are read); of those, the
// earliest run_at, ties by id. ?2 the new lease end, ?3 the worker.
std::string claim_sql(std::size_t types) {
  std::string arms;
  for (std::size_t i = 0; i < types; ++i) {
    std::string type = '?' + std::to_string(4 + i);
    if (i) arms += " UNION ALL ";
    arms += "SELECT * FROM (SELECT id, run_at FROM jobs WHERE state = 0 AND type = " + type +
            " AND run_at <= ?1 ORDER BY run_at, id LIMIT 1) UNION ALL SELECT * FROM (SELECT id, run_at FROM jobs "
            "WHERE state = 1 AND type = " + type + " AND lease_until < ?1 ORDER BY run_at, id LIMIT 1)";
  }
  return "UPDATE jobs SET state = 1, attempts = attempts + 1, fence = fence + 1, lease_until = ?2, worker = ?3 "
         "WHERE id = (SELECT id FROM (" + arms + ") ORDER BY run_at, id LIMIT 1) "
         "RETURNING id, type, key, payload, fence, attempts, max_attempts, last_error";
}

JobState state_from(std::int64_t code) {
  switch (code) {
    case kWaiting:
      return JobState::waiting;
    case kRunning:
      return JobState::running;
    case kDone:
      return JobState::done;
    case kDead:
      break;
  }
  return JobState::dead;
}

struct JobRow {
  JobInfo info;
  std::int64_t finished_at = 0;
};

JobRow job_from(SqliteQuery const& q) {
  JobRow row;
  JobInfo& info = row.info;
  info.id = q.column_blob(0);
  info.type = q.column_blob(1);
  info.key = q.column_blob(2);
  info.payload = q.column_blob(3);
  info.state = state_from(q.column_int(4));
  info.attempts = static_cast<int>(q.column_int(5));
  info.max_attempts = static_cast<int>(q.column_int(6));
  info.fence = q.column_int(7);
  info.last_error = q.column_blob(8);
  info.run_at_ms = q.column_int(9);
  info.lease_until_ms = q.column_int(10);
  info.worker = q.column_blob(11);
  row.finished_at = q.column_int(12);
  return row;
}

// The statements, as synchronous functions of one connection (run on pool threads). The clock
// is read once per call; every multi-statement call is one BEGIN IMMEDIATE transaction, so it
// is atomic across the threads and processes sharing the file.
class SqliteJobs {
 public:
  SqliteJobs(core::Clock const& clock, JobQueueOptions const& options) : clock_(clock), keyspace_(clock), options_(options) {}

  JobQueueOptions const& options() const { return options_; }

  Result<Enqueued> enqueue(SqliteConnection& c, JobSpec const& spec) const {
    std::int64_t now = clock_.now_ms();
    std::string id = job_id(spec.type, spec.key);
    return in_write_transaction(c, [&]() -> Result<Enqueued> {
      auto known = read(c, id);
      if (!known) return known.error();
      if (*known) {
        if (!forgotten(**known, now)) return Enqueued{id, true};
        if (auto r = run_id(c, kDeleteJob, id); !r) return r.error();
      }
      // A fence key left by a forgotten job of this id (dropped, or done past done_ttl while
      // its key lived on) is continued, so fences keep growing per id, as in the redis queue.
      auto fence = keyspace_.get_within(c, fence_key(id), now);
      if (!fence && fence.error().code != Errc::invalid) return fence.error();  // invalid: not a string, no fence
      auto q = c.query(kInsertJob);
      if (!q) return q.error();
      q->bind_blob(1, id).bind_blob(2, spec.type).bind_blob(3, spec.key).bind_blob(4, spec.payload);
      q->bind_int(5, spec.max_attempts).bind_int(6, fence ? parse_fence(*fence) : 0).bind_int(7, now + spec.delay.count());
      if (auto r = q->run(); !r) return r.error();
      return Enqueued{id, false};
    });
  }

  Result<std::optional<Claim>> claim(SqliteConnection& c, std::vector<std::string> const& types,
                                     std::string const& worker, Millis lease) const {
    if (types.empty()) return std::optional<Claim>{};
    std::int64_t now = clock_.now_ms();
    return in_write_transaction(c, [&]() -> Result<std::optional<Claim>> {
      {
        auto q = c.query(exhaust_sql(types.size()));
        if (!q) return q.error();
        q->bind_int(1, now);
        for (std::size_t i = 0; i < types.size(); ++i) q->bind_blob(static_cast<int>(2 + i), types[i]);
        if (auto r = q->run(); !r) return r.error();
      }
      std::optional<Claim> claimed;
      {
        auto q = c.query(claim_sql(types.size()));
        if (!q) return q.error();
        q->bind_int(1, now).bind_int(2, now + lease.count()).bind_blob(3, worker);
        for (std::size_t i = 0; i < types.size(); ++i) q->bind_blob(static_cast<int>(4 + i), types[i]);
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) return claimed;
        claimed = Claim{q->column_blob(0), q->column_blob(1), q->column_blob(2), q->column_blob(3),
                        q->column_int(4), static_cast<int>(q->column_int(5)), static_cast<int>(q->column_int(6)),
                        q->column_blob(7)};
      }
      // In the claim's transaction: the claim and its fence are seen together or not at all.
      auto written = keyspace_.set_within(c, fence_key(claimed->id), std::to_string(claimed->fence), std::nullopt, now);
      if (!written) return written.error();
      return claimed;
    });
  }

  Result<bool> renew(SqliteConnection& c, std::string const& id, std::int64_t fence, Millis lease) const {
    auto q = c.query(kRenew);
    if (!q) return q.error();
    q->bind_blob(1, id).bind_int(2, fence).bind_int(3, clock_.now_ms() + lease.count());
    return changed(*q);
  }

  // The fence key goes with the done job, after done_ttl, as in the redis queue.
  Result<bool> complete(SqliteConnection& c, std::string const& id, std::int64_t fence) const {
    std::int64_t now = clock_.now_ms();
    return in_write_transaction(c, [&]() -> Result<bool> {
      auto q = c.query(kComplete);
      if (!q) return q.error();
      q->bind_blob(1, id).bind_int(2, fence).bind_int(3, now);
      auto done = changed(*q);
      if (!done || !*done) return done;
      if (auto r = keyspace_.expire_within(c, fence_key(id), options_.done_ttl, now); !r) return r.error();
      return true;
    });
  }

  Result<bool> fail(SqliteConnection& c, std::string const& id, std::int64_t fence, std::string const& error,
                    std::optional<Millis> retry_in) const {
    auto q = c.query(kFail);
    if (!q) return q.error();
    q->bind_blob(1, id).bind_int(2, fence).bind_blob(3, error).bind_int(5, clock_.now_ms());
    if (retry_in) q->bind_int(4, retry_in->count());  // unbound: NULL, never retried
    return changed(*q);
  }

  Result<std::optional<JobInfo>> get(SqliteConnection& c, std::string const& id) const {
    std::int64_t now = clock_.now_ms();
    auto row = read(c, id);
    if (!row) return row.error();
    if (!*row || forgotten(**row, now)) return std::optional<JobInfo>{};
    return std::optional<JobInfo>{std::move((*row)->info)};
  }

  Result<JobCounts> counts(SqliteConnection& c) const {
    auto q = c.query(kCounts);
    if (!q) return q.error();
    q->bind_int(1, clock_.now_ms());
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return JobCounts{};
    return JobCounts{q->column_int(0), q->column_int(1), q->column_int(2), q->column_int(3)};
  }

  Result<std::vector<JobInfo>> dead_letters(SqliteConnection& c, std::size_t limit) const {
    auto q = c.query(kSelectDead);
    if (!q) return q.error();
    q->bind_int(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
    std::vector<JobInfo> out;
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return out;
      out.push_back(job_from(*q).info);
    }
  }

  Result<bool> retry_dead(SqliteConnection& c, std::string const& id) const {
    auto q = c.query(kRetryDead);
    if (!q) return q.error();
    q->bind_blob(1, id).bind_int(2, clock_.now_ms());
    return changed(*q);
  }

  // The fence key stays for done_ttl, so a new job of the same id within it continues the fences.
  Result<bool> drop_dead(SqliteConnection& c, std::string const& id) const {
    std::int64_t now = clock_.now_ms();
    return in_write_transaction(c, [&]() -> Result<bool> {
      auto dropped = run_id(c, kDropDead, id);
      if (!dropped || !*dropped) return dropped;
      if (auto r = keyspace_.expire_within(c, fence_key(id), options_.done_ttl, now); !r) return r.error();
      return true;
    });
  }

  // Best effort, like the store's sweep: a failure leaves the rows for the next one.
  void sweep(SqliteConnection& c) const {
    auto q = c.query(kSweepDone);
    if (!q) return;
    q->bind_int(1, clock_.now_ms() - options_.done_ttl.count()).bind_int(2, kJobSweepBatch);
    (void)q->run();
  }

 private:
  // A done job past done_ttl: read as absent (the sweep deletes it later).
  bool forgotten(JobRow const& row, std::int64_t now) const {
    return row.info.state == JobState::done && row.finished_at + options_.done_ttl.count() <= now;
  }

  static Result<std::optional<JobRow>> read(SqliteConnection& c, std::string const& id) {
    auto q = c.query(kSelectJob);
    if (!q) return q.error();
    q->bind_blob(1, id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return std::optional<JobRow>{};
    return std::optional<JobRow>{job_from(*q)};
  }

  // Runs a statement; true when it changed a row.
  static Result<bool> changed(SqliteQuery& q) {
    if (auto r = q.run(); !r) return r.error();
    return q.changes() > 0;
  }
  static Result<bool> run_id(SqliteConnection& c, std::string_view sql, std::string const& id) {
    auto q = c.query(sql);
    if (!q) return q.error();
    q->bind_blob(1, id);
    return changed(*q);
  }

  core::Clock const& clock_;
  SqliteKeyspace keyspace_;
  JobQueueOptions options_;
};

// Shared by every worker thread; statements run only on the pool's threads, never on the
// caller's event loop. Ownership as for the sqlite store: callers keep the queue alive until
// their calls complete, and a caller's io_context outlives its calls in flight.
class SqliteJobQueue final : public JobQueue {
 public:
  SqliteJobQueue(std::string const& path, StoreOptions const& options, JobQueueOptions const& queue_options)
      : jobs_(*options.clock, queue_options),
        connections_(path, std::max(options.sqlite_threads, 1), busy_timeout_for(options.command_timeout)) {
    auto connection = connections_.acquire();
    create_job_schema(*connection);
  }
  ~SqliteJobQueue() override { connections_.join(); }

  std::string_view backend() const override { return "sqlite"; }

  Async<Enqueued> enqueue(JobSpec spec) override {
    if (auto valid = validate(spec, jobs_.options()); !valid) return ready<Enqueued>(valid.error());
    return write([this, spec = std::move(spec)](SqliteConnection& c) { return jobs_.enqueue(c, spec); });
  }

  Async<std::optional<Claim>> claim(std::vector<std::string> types, std::string worker, Millis lease) override {
    return write([this, types = std::move(types), worker = std::move(worker), lease](SqliteConnection& c) {
      return jobs_.claim(c, types, worker, lease);
    });
  }

  Async<bool> renew(std::string id, std::int64_t fence, Millis lease) override {
    return connections_.run(
        [this, id = std::move(id), fence, lease](SqliteConnection& c) { return jobs_.renew(c, id, fence, lease); });
  }

  Async<bool> complete(std::string id, std::int64_t fence) override {
    return write([this, id = std::move(id), fence](SqliteConnection& c) { return jobs_.complete(c, id, fence); });
  }

  Async<bool> fail(std::string id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) override {
    return write([this, id = std::move(id), fence, error = std::move(error), retry_in](SqliteConnection& c) {
      return jobs_.fail(c, id, fence, error, retry_in);
    });
  }

  Async<std::optional<JobInfo>> get(std::string id) override {
    return connections_.run([this, id = std::move(id)](SqliteConnection& c) { return jobs_.get(c, id); });
  }

  Async<JobCounts> counts() override {
    return connections_.run([this](SqliteConnection& c) { return jobs_.counts(c); });
  }

  Async<std::vector<JobInfo>> dead_letters(std::size_t limit) override {
    return connections_.run([this, limit](SqliteConnection& c) { return jobs_.dead_letters(c, limit); });
  }

  Async<bool> retry_dead(std::string id) override {
    return connections_.run([this, id = std::move(id)](SqliteConnection& c) { return jobs_.retry_dead(c, id); });
  }

  Async<bool> drop_dead(std::string id) override {
    return connections_.run([this, id = std::move(id)](SqliteConnection& c) { return jobs_.drop_dead(c, id); });
  }

 private:
  template <class T>
  static Async<T> ready(Result<T> value) {
    co_return value;
  }

  // Runs work on a pool thread, and every kJobSweepEvery calls queues a sweep of old done rows.
  template <class F>
  auto write(F work) -> asio::awaitable<std::invoke_result_t<F&, SqliteConnection&>> {
    if (writes_.fetch_add(1, std::memory_order_relaxed) % kJobSweepEvery == kJobSweepEvery - 1) {
      connections_.post([this] {
        auto connection = connections_.acquire();
        jobs_.sweep(*connection);
      });
    }
    return connections_.run(std::move(work));
  }

  SqliteJobs jobs_;
  std::atomic<std::uint32_t> writes_{0};
  SqliteConnectionPool connections_;  // declared last: its threads use the members above
};

class SqliteJobQueueProvider final : public JobQueueProvider {
 public:
  explicit SqliteJobQueueProvider(std::shared_ptr<SqliteJobQueue> queue) : queue_(std::move(queue)) {}
  std::string_view backend() const override { return "sqlite"; }
  // One queue for every worker thread, as the sqlite store does: sqlite serializes writers anyway.
  std::shared_ptr<JobQueue> queue_for(asio::any_io_executor) override { return queue_; }

 private:
  std::shared_ptr<SqliteJobQueue> queue_;
};

}  // namespace

std::unique_ptr<JobQueueProvider> make_sqlite_job_queue(std::string const& path, StoreOptions const& options,
                                                        JobQueueOptions const& queue_options) {
  if (!options.clock) throw std::invalid_argument("sqlite job queue '" + path + "' needs a clock");
  return std::make_unique<SqliteJobQueueProvider>(std::make_shared<SqliteJobQueue>(path, options, queue_options));
}

}  // namespace outboard::state
