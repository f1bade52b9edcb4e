#include "state/memory/memory_job_queue.hpp"

#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "state/job_spec.hpp"

namespace outboard::state {
namespace {

// (time, id): the order of every index below. Equal times go by id, bytewise, as a Redis sorted
// set orders equal scores, so every backend claims and lists in the same order.
using TimeIndex = std::set<std::pair<std::int64_t, std::string>>;

struct TypeIndex {
  TimeIndex waiting;  // by run_at
  TimeIndex running;  // by lease_until
};

struct Job {
  JobInfo info;
  std::int64_t finished_at = 0;  // done or dead: since when
};

// Every job of the process, under one mutex; each call runs to its end under the lock, with the
// clock read once. Cost: enqueue, claim and the transitions are O(types x log n); counts() is
// O(n) (operations only).
class MemoryJobs {
 public:
  MemoryJobs(core::Clock const& clock, JobQueueOptions options) : clock_(clock), options_(options) {}

  // `fence` continues a fence key left by a forgotten job of the same id (0: none), so fences
  // keep growing per id and a worker of the old job can never commit for the new one.
  Enqueued enqueue(JobSpec const& spec, std::int64_t fence) {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    forget_expired(now);
    std::string id = job_id(spec.type, spec.key);
    if (live(id, now)) return Enqueued{std::move(id), true};
    Job job;
    job.info.id = id;
    job.info.type = spec.type;
    job.info.key = spec.key;
    job.info.payload = spec.payload;
    job.info.max_attempts = spec.max_attempts;
    job.info.fence = fence;
    job.info.run_at_ms = now + spec.delay.count();
    place(jobs_.emplace(id, std::move(job)).first->second);
    return Enqueued{std::move(id), false};
  }

  std::optional<Claim> claim(std::vector<std::string> const& types, std::string const& worker, Millis lease) {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    Job* best = nullptr;
    for (auto const& type : types) {
      auto it = by_type_.find(type);
      if (it == by_type_.end()) continue;
      for (Job* job : expired_running(it->second, now)) consider(best, *job);
      auto& waiting = it->second.waiting;
      if (!waiting.empty() && waiting.begin()->first <= now) consider(best, jobs_.at(waiting.begin()->second));
    }
    if (!best) return std::nullopt;
    unplace(*best);
    JobInfo& info = best->info;
    info.state = JobState::running;
    info.attempts += 1;
    info.fence += 1;
    info.lease_until_ms = now + lease.count();
    info.worker = worker;
    place(*best);
    return Claim{info.id, info.type, info.key, info.payload, info.fence, info.attempts, info.max_attempts,
                 info.last_error};
  }

  bool renew(std::string const& id, std::int64_t fence, Millis lease) {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    Job* job = held(id, fence, now);
    if (!job) return false;
    unplace(*job);
    job->info.lease_until_ms = now + lease.count();
    place(*job);
    return true;
  }

  bool complete(std::string const& id, std::int64_t fence) {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    Job* job = held(id, fence, now);
    if (!job) return false;
    finish(*job, JobState::done, now);
    return true;
  }

  bool fail(std::string const& id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    Job* job = held(id, fence, now);
    if (!job) return false;
    job->info.last_error = std::move(error);
    if (!retry_in || job->info.attempts >= job->info.max_attempts) {
      finish(*job, JobState::dead, now);
      return true;
    }
    unplace(*job);
    job->info.state = JobState::waiting;
    job->info.run_at_ms = now + retry_in->count();
    job->info.lease_until_ms = 0;
    place(*job);
    return true;
  }

  std::optional<JobInfo> get(std::string const& id) {
    std::lock_guard lock(mutex_);
    Job* job = live(id, clock_.now_ms());
    if (!job) return std::nullopt;
    return job->info;
  }

  JobCounts counts() {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    JobCounts n;
    for (auto const& [type, index] : by_type_) {
      for (auto const& [run_at, id] : index.waiting) (run_at <= now ? n.ready : n.delayed) += 1;
      n.running += static_cast<std::int64_t>(index.running.size());
    }
    n.dead = static_cast<std::int64_t>(dead_.size());
    return n;
  }

  std::vector<JobInfo> dead_letters(std::size_t limit) {
    std::lock_guard lock(mutex_);
    std::vector<JobInfo> out;
    for (auto it = dead_.begin(); it != dead_.end() && out.size() < limit; ++it) {
      out.push_back(jobs_.at(it->second).info);
    }
    return out;
  }

  bool retry_dead(std::string const& id) {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    Job* job = live(id, now);
    if (!job || job->info.state != JobState::dead) return false;
    unplace(*job);
    job->info.state = JobState::waiting;
    job->info.attempts = 0;
    job->info.run_at_ms = now;
    job->info.lease_until_ms = 0;
    place(*job);
    return true;
  }

  bool drop_dead(std::string const& id) {
    std::lock_guard lock(mutex_);
    Job* job = live(id, clock_.now_ms());
    if (!job || job->info.state != JobState::dead) return false;
    unplace(*job);
    jobs_.erase(id);
    return true;
  }

  Millis done_ttl() const { return options_.done_ttl; }
  JobQueueOptions const& options() const { return options_; }

 private:
  // The job, unless unknown or done for done_ttl already (then forgotten now).
  Job* live(std::string const& id, std::int64_t now) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return nullptr;
    Job& job = it->second;
    if (job.info.state == JobState::done && job.finished_at + options_.done_ttl.count() <= now) {
      unplace(job);
      jobs_.erase(it);
      return nullptr;
    }
    return &job;
  }

  // The job when `fence` is its latest claim and it is running under it.
  Job* held(std::string const& id, std::int64_t fence, std::int64_t now) {
    Job* job = live(id, now);
    if (!job || job->info.state != JobState::running || job->info.fence != fence) return nullptr;
    return job;
  }

  // The type's running jobs whose lease ran out; those with no attempts left go dead on the way.
  std::vector<Job*> expired_running(TypeIndex& index, std::int64_t now) {
    std::vector<Job*> claimable;
    std::vector<Job*> exhausted;
    for (auto it = index.running.begin(); it != index.running.end() && it->first < now; ++it) {
      Job& job = jobs_.at(it->second);
      (job.info.attempts >= job.info.max_attempts ? exhausted : claimable).push_back(&job);
    }
    for (Job* job : exhausted) {
      job->info.last_error = "lease expired";
      finish(*job, JobState::dead, now);
    }
    return claimable;
  }

  static void consider(Job*& best, Job& job) {
    if (!best || std::pair(job.info.run_at_ms, std::string_view(job.info.id)) <
                     std::pair(best->info.run_at_ms, std::string_view(best->info.id))) {
      best = &job;
    }
  }

  void finish(Job& job, JobState state, std::int64_t now) {
    unplace(job);
    job.info.state = state;
    job.info.lease_until_ms = 0;
    job.finished_at = now;
    place(job);
  }

  // The index entry of a job in its state.
  TimeIndex* index_of(Job const& job) {
    switch (job.info.state) {
      case JobState::waiting:
        return &by_type_[job.info.type].waiting;
      case JobState::running:
        return &by_type_[job.info.type].running;
      case JobState::done:
        return &done_;
      case JobState::dead:
        break;
    }
    return &dead_;
  }
  static std::int64_t index_time(Job const& job, std::int64_t done_ttl_ms) {
    switch (job.info.state) {
      case JobState::waiting:
        return job.info.run_at_ms;
      case JobState::running:
        return job.info.lease_until_ms;
      case JobState::done:
        return job.finished_at + done_ttl_ms;
      case JobState::dead:
        break;
    }
    return job.finished_at;
  }
  void place(Job const& job) { index_of(job)->emplace(index_time(job, options_.done_ttl.count()), job.info.id); }
  void unplace(Job const& job) { index_of(job)->erase({index_time(job, options_.done_ttl.count()), job.info.id}); }

  // Done jobs past done_ttl that nobody asked about again: a few per enqueue, so memory stays
  // bounded by what is live.
  void forget_expired(std::int64_t now) {
    for (int i = 0; i < 16 && !done_.empty() && done_.begin()->first <= now; ++i) {
      std::string id = done_.begin()->second;
      done_.erase(done_.begin());
      jobs_.erase(id);
    }
  }

  core::Clock const& clock_;
  JobQueueOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Job> jobs_;
  std::map<std::string, TypeIndex, std::less<>> by_type_;
  TimeIndex done_;  // by the end of done_ttl
  TimeIndex dead_;  // by time of death
};

// One worker thread's handle: the process's jobs and that thread's store. The fence key is
// written to the store right AFTER the claim, not atomically with it: acceptable in one process
// only, where the store is the same memory and the window is a few instructions. A worker whose
// lease ran out exactly in that window could still commit with the old fence; the sqlite and
// redis queues write the fence in the claim's own transaction / script.
class MemoryJobQueue final : public JobQueue {
 public:
  MemoryJobQueue(std::shared_ptr<MemoryJobs> jobs, std::shared_ptr<Store> store)
      : jobs_(std::move(jobs)), store_(std::move(store)) {}

  std::string_view backend() const override { return "memory"; }

  Async<Enqueued> enqueue(JobSpec spec) override {
    if (auto valid = validate(spec, jobs_->options()); !valid) co_return valid.error();
    // Each store call is named before its co_await: no temporary inside a co_await expression
    // (g++ 12, see core/offload.hpp).
    auto lookup = store_->get(fence_key(job_id(spec.type, spec.key)));
    auto fence = co_await std::move(lookup);
    co_return jobs_->enqueue(spec, fence ? parse_fence(*fence) : 0);
  }

  Async<std::optional<Claim>> claim(std::vector<std::string> types, std::string worker, Millis lease) override {
    auto claimed = jobs_->claim(types, worker, lease);
    if (!claimed) co_return std::optional<Claim>{};
    auto write = store_->set(fence_key(claimed->id), std::to_string(claimed->fence));
    auto written = co_await std::move(write);
    if (!written) co_return written.error();
    co_return claimed;
  }

  Async<bool> renew(std::string id, std::int64_t fence, Millis lease) override {
    co_return jobs_->renew(id, fence, lease);
  }

  // The fence key goes with the done job, after done_ttl, as in the redis queue.
  Async<bool> complete(std::string id, std::int64_t fence) override {
    if (!jobs_->complete(id, fence)) co_return false;
    auto expire = store_->expire(fence_key(id), jobs_->done_ttl());
    auto expired = co_await std::move(expire);
    if (!expired) co_return expired.error();
    co_return true;
  }

  Async<bool> fail(std::string id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) override {
    co_return jobs_->fail(id, fence, std::move(error), retry_in);
  }

  Async<std::optional<JobInfo>> get(std::string id) override { co_return jobs_->get(id); }
  Async<JobCounts> counts() override { co_return jobs_->counts(); }
  Async<std::vector<JobInfo>> dead_letters(std::size_t limit) override { co_return jobs_->dead_letters(limit); }
  Async<bool> retry_dead(std::string id) override { co_return jobs_->retry_dead(id); }

  // The fence key stays for done_ttl, so a new job of the same id within it continues the fences.
  Async<bool> drop_dead(std::string id) override {
    if (!jobs_->drop_dead(id)) co_return false;
    auto expire = store_->expire(fence_key(id), jobs_->done_ttl());
    auto expired = co_await std::move(expire);
    if (!expired) co_return expired.error();
    co_return true;
  }

 private:
  std::shared_ptr<MemoryJobs> jobs_;
  std::shared_ptr<Store> store_;
};

class MemoryJobQueueProvider final : public JobQueueProvider {
 public:
  MemoryJobQueueProvider(StoreProvider& store, core::Clock const& clock, JobQueueOptions const& options)
      : store_(store), jobs_(std::make_shared<MemoryJobs>(clock, options)) {}
  std::string_view backend() const override { return "memory"; }
  std::shared_ptr<JobQueue> queue_for(boost::asio::any_io_executor executor) override {
    return std::make_shared<MemoryJobQueue>(jobs_, store_.store_for(std::move(executor)));
  }

 private:
  StoreProvider& store_;
  std::shared_ptr<MemoryJobs> jobs_;
};

}  // namespace

std::unique_ptr<JobQueueProvider> make_memory_job_queue(StoreProvider& store, StoreOptions const& options,
                                                        JobQueueOptions const& queue_options) {
  if (!options.clock) throw std::invalid_argument("memory job queue needs a clock");
  return std::make_unique<MemoryJobQueueProvider>(store, *options.clock, queue_options);
}

}  // namespace outboard::state
