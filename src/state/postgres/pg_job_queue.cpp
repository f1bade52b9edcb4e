#include "state/postgres/pg_job_queue.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <algorithm>
#include <limits>
#include <utility>

#include "state/job_spec.hpp"
#include "state/postgres/pg_codec.hpp"
#include "state/postgres/pg_connection.hpp"
#include "state/postgres/pg_database.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;

// The functions of migration 2 (pg_jobs_sql.cpp); reads are plain SELECTs.
constexpr char const* kJobEnqueue = "SELECT outboard_job_enqueue($1, $2, $3, $4, $5, $6, $7)";
constexpr char const* kJobClaim = "SELECT * FROM outboard_job_claim($1, $2, $3)";
constexpr char const* kJobRenew = "SELECT outboard_job_renew($1, $2, $3)";
constexpr char const* kJobComplete = "SELECT outboard_job_complete($1, $2, $3)";
constexpr char const* kJobFail = "SELECT outboard_job_fail($1, $2, $3, $4)";
constexpr char const* kJobRetryDead = "SELECT outboard_job_retry_dead($1)";
constexpr char const* kJobDropDead = "SELECT outboard_job_drop_dead($1, $2)";
// Columns in the order info_from() reads them. A done job past done_ttl ($2) reads as gone.
constexpr char const* kJobGet =
    "SELECT id, type, key, payload, state::int8, attempts::int8, max_attempts::int8, fence, last_error, "
    "run_at, lease_until, worker FROM outboard_jobs "
    "WHERE id = $1 AND NOT (state = 2 AND finished_at + $2 <= outboard_now_ms())";
constexpr char const* kJobDeadLetters =
    "SELECT id, type, key, payload, state::int8, attempts::int8, max_attempts::int8, fence, last_error, "
    "run_at, lease_until, worker FROM outboard_jobs WHERE state = 3 ORDER BY finished_at, id LIMIT $1";
// Cost: a scan of the table (operations and metrics only, not per job).
constexpr char const* kJobCounts =
    "SELECT count(*) FILTER (WHERE state = 0 AND run_at <= n), count(*) FILTER (WHERE state = 0 AND run_at > n), "
    "count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 3) "
    "FROM outboard_jobs, outboard_now_ms() AS n";

JobState job_state_from(std::int64_t code) {
  switch (code) {
    case 0:
      return JobState::waiting;
    case 1:
      return JobState::running;
    case 2:
      return JobState::done;
    default:
      return JobState::dead;
  }
}

// Reads one result row left to right. A missing column, a NULL or an int8 of the wrong size
// (a schema this build does not know) makes the row bad: Errc::internal, never a made-up value.
class ColumnReader {
 public:
  explicit ColumnReader(std::vector<std::optional<std::string>>& row) : row_(row) {}

  std::string bytes() {
    auto* value = next();
    return value ? std::move(**value) : std::string();
  }
  std::int64_t int8() {
    auto* value = next();
    if (!value) return 0;
    auto n = decode_int8(*value);
    if (!n) bad_ = true;
    return n ? *n : 0;
  }
  Result<void> status(char const* what) const {
    if (bad_) return core::make_error(Errc::internal, std::string("postgres job queue: malformed ") + what + " row");
    return {};
  }

 private:
  std::optional<std::string>* next() {
    if (at_ >= row_.size() || !row_[at_]) {
      bad_ = true;
      ++at_;
      return nullptr;
    }
    return &row_[at_++];
  }

  std::vector<std::optional<std::string>>& row_;
  std::size_t at_ = 0;
  bool bad_ = false;
};

Result<JobInfo> info_from(std::vector<std::optional<std::string>>& row) {
  ColumnReader c(row);
  JobInfo info;
  info.id = c.bytes();
  info.type = c.bytes();
  info.key = c.bytes();
  info.payload = c.bytes();
  info.state = job_state_from(c.int8());
  info.attempts = static_cast<int>(c.int8());
  info.max_attempts = static_cast<int>(c.int8());
  info.fence = c.int8();
  info.last_error = c.bytes();
  info.run_at_ms = c.int8();
  info.lease_until_ms = c.int8();
  info.worker = c.bytes();
  if (auto ok = c.status("job"); !ok) return ok.error();
  return info;
}

Result<Claim> claim_from(std::vector<std::optional<std::string>>& row) {
  ColumnReader c(row);
  Claim claim;
  claim.id = c.bytes();
  claim.type = c.bytes();
  claim.key = c.bytes();
  claim.payload = c.bytes();
  claim.fence = c.int8();
  claim.attempt = static_cast<int>(c.int8());
  claim.max_attempts = static_cast<int>(c.int8());
  claim.last_error = c.bytes();
  if (auto ok = c.status("claim"); !ok) return ok.error();
  return claim;
}

// One worker thread's queue, on that thread's own connection. Errors of the connection
// (unreachable, lost, no answer in time) come back as Errc::unavailable / Errc::timeout.
class PgJobQueue final : public JobQueue {
 public:
  PgJobQueue(std::shared_ptr<PgConnection> connection, JobQueueOptions options)
      : db_(std::move(connection)), options_(options) {}
  ~PgJobQueue() override { db_->close(); }

  std::string_view backend() const override { return "postgres"; }

  Async<Enqueued> enqueue(JobSpec spec) override {
    if (auto valid = validate(spec, options_); !valid) co_return valid.error();
    std::string id = job_id(spec.type, spec.key);
    PgParams params = PgParams{}.bytes(id).bytes(spec.type).bytes(spec.key).bytes(spec.payload);
    params.int8(spec.delay.count()).int8(spec.max_attempts).int8(options_.done_ttl.count());
    auto inserted = co_await answer(kJobEnqueue, std::move(params));
    if (!inserted) co_return inserted.error();
    co_return Enqueued{std::move(id), !*inserted};
  }

  Async<std::optional<Claim>> claim(std::vector<std::string> types, std::string worker, Millis lease) override {
    if (types.empty()) co_return std::optional<Claim>{};
    auto db = db_;
    std::vector<std::string_view> names(types.begin(), types.end());
    PgParams params = PgParams{}.bytes_array(names).bytes(worker).int8(lease.count());
    auto rows = co_await db->execute(kJobClaim, std::move(params));
    if (!rows) co_return rows.error();
    if (rows->rows.empty()) co_return std::optional<Claim>{};
    auto claimed = claim_from(rows->rows.front());
    if (!claimed) co_return claimed.error();
    co_return std::optional<Claim>{std::move(*claimed)};
  }

  Async<bool> renew(std::string id, std::int64_t fence, Millis lease) override {
    return answer(kJobRenew, PgParams{}.bytes(id).int8(fence).int8(lease.count()));
  }

  Async<bool> complete(std::string id, std::int64_t fence) override {
    return answer(kJobComplete, PgParams{}.bytes(id).int8(fence).int8(options_.done_ttl.count()));
  }

  Async<bool> fail(std::string id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) override {
    std::optional<std::int64_t> retry_ms;
    if (retry_in) retry_ms = retry_in->count();
    return answer(kJobFail, PgParams{}.bytes(id).int8(fence).bytes(error).optional_int8(retry_ms));
  }

  Async<std::optional<JobInfo>> get(std::string id) override {
    PgParams params = PgParams{}.bytes(id).int8(options_.done_ttl.count());
    auto jobs = co_await infos(kJobGet, std::move(params));
    if (!jobs) co_return jobs.error();
    if (jobs->empty()) co_return std::optional<JobInfo>{};
    co_return std::optional<JobInfo>{std::move(jobs->front())};
  }

  Async<JobCounts> counts() override {
    auto db = db_;
    PgParams none;
    auto rows = co_await db->execute(kJobCounts, std::move(none));
    if (!rows) co_return rows.error();
    if (rows->rows.empty()) co_return core::make_error(Errc::internal, "postgres job queue: no counts row");
    ColumnReader c(rows->rows.front());
    JobCounts n{c.int8(), c.int8(), c.int8(), c.int8()};
    if (auto ok = c.status("counts"); !ok) co_return ok.error();
    co_return n;
  }

  Async<std::vector<JobInfo>> dead_letters(std::size_t limit) override {
    auto capped = static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
    return infos(kJobDeadLetters, PgParams{}.int8(capped));
  }

  Async<bool> retry_dead(std::string id) override { return answer(kJobRetryDead, PgParams{}.bytes(id)); }

  Async<bool> drop_dead(std::string id) override {
    return answer(kJobDropDead, PgParams{}.bytes(id).int8(options_.done_ttl.count()));
  }

 private:
  // A statement whose answer is one boolean.
  Async<bool> answer(char const* sql, PgParams params) {
    auto db = db_;
    auto rows = co_await db->execute(sql, std::move(params));
    co_return single_bool(rows);
  }

  // A statement whose answer is job rows.
  Async<std::vector<JobInfo>> infos(char const* sql, PgParams params) {
    auto db = db_;
    auto rows = co_await db->execute(sql, std::move(params));
    if (!rows) co_return rows.error();
    std::vector<JobInfo> out;
    for (auto& row : rows->rows) {
      auto info = info_from(row);
      if (!info) co_return info.error();
      out.push_back(std::move(*info));
    }
    co_return out;
  }

  std::shared_ptr<PgConnection> db_;
  JobQueueOptions options_;
};

// One connection per worker thread (beside the store's own), made lazily on its first call.
class PgJobQueueProvider final : public JobQueueProvider {
 public:
  PgJobQueueProvider(PgEndpoint endpoint, JobQueueOptions options)
      : endpoint_(std::move(endpoint)), options_(options) {}
  std::string_view backend() const override { return "postgres"; }
  std::shared_ptr<JobQueue> queue_for(asio::any_io_executor executor) override {
    return std::make_shared<PgJobQueue>(PgConnection::create(std::move(executor), endpoint_), options_);
  }

 private:
  PgEndpoint endpoint_;
  JobQueueOptions options_;
};

}  // namespace

std::unique_ptr<JobQueueProvider> make_postgres_job_queue(StoreUrl const& url, StoreOptions const& options,
                                                          JobQueueOptions const& queue_options) {
  return std::make_unique<PgJobQueueProvider>(open_postgres_database(url, options), queue_options);
}

}  // namespace outboard::state
