#include "jobs/runner.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <future>
#include <random>
#include <set>
#include <stdexcept>

#include "jobs/backoff.hpp"
#include "jobs/tick.hpp"

namespace outboard::jobs {

namespace asio = boost::asio;
using core::Errc;
using core::Millis;
using state::Claim;

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::completed: return "completed";
    case Outcome::retried: return "retried";
    case Outcome::dead: return "dead";
    case Outcome::stale_refused: return "stale_refused";
    case Outcome::lease_lost: return "lease_lost";
    case Outcome::given_back: return "given_back";
    case Outcome::tick_enqueued: return "tick_enqueued";
    case Outcome::tick_duplicate: return "tick_duplicate";
    case Outcome::schedule_ready: return "schedule_ready";
  }
  return "?";
}

namespace {

// How often the queue gauges (queue depth, dead letters) are sampled.
constexpr Millis kCountsEvery{1000};

// The record written at a job's marker, in the commit of its effect.
std::string marker_record(std::string_view instance, std::int64_t fence, std::int64_t at_ms) {
  return nlohmann::json{{"instance", instance}, {"fence", fence}, {"at_ms", at_ms}}.dump();
}

}  // namespace

// Everything that lives on the runner's thread. The io_context is the LAST member: destroyed
// first, it destroys the suspended coroutine frames while the state they refer to still exists.
class Runner::Loop {
 public:
  explicit Loop(Runner& runner) : r_(runner), random_(std::random_device{}()) {}

  // On the runner's thread.
  void run() {
    auto executor = ioc_.get_executor();
    queue_ = r_.queues_.queue_for(executor);
    store_ = r_.data_.store_for(executor);
    lay_out();
    spawn(claim_loop());
    for (auto const& entry : r_.config_.schedules) spawn(schedule_loop(entry));
    spawn(sample_counts());
    ioc_.run();  // returns once stopping and every coroutine of ours ended (stop_when_idle), or on force_stop()
    release_stores();
    ended_.set_value();
  }

  // Any thread (through post): wake every sleeper.
  void post_nudge() {
    asio::post(ioc_, [this] { wake_all(); });
  }

  std::future<void> post_drain(std::chrono::steady_clock::time_point deadline) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    asio::post(ioc_, [this, deadline, done] { spawn(drain_then_signal(deadline, done)); });
    return future;
  }

  // Any thread: every loop ends at its next wake, running jobs are abandoned at their next step
  // (not committed: their leases run out and the next claim finds the marker or runs them).
  void begin_stop() {
    asio::post(ioc_, [this] {
      stopping_ = true;
      claiming_ = false;
      ticking_ = false;
      for (auto& [key, running] : running_) {
        running->finished = true;
        if (running->renew_timer) running->renew_timer->cancel();
      }
      wake_all();
      stop_when_idle();
    });
  }
  // The thread's run() has returned by itself: no coroutine, and so no store call, is left.
  bool ended_within(std::chrono::milliseconds grace) {
    return ended_future_.wait_for(grace) == std::future_status::ready;
  }
  void force_stop() {
    forced_ = true;
    ioc_.stop();
  }

 private:
  struct Slot {
    JobHandler* handler = nullptr;
    JobMetrics::Type* metrics = nullptr;
    int limit = 1;
    int in_flight = 0;
  };
  // One claim being worked on: what drain gives back, and the lease's renewal.
  struct Running {
    Claim claim;
    bool finished = false;       // the renewal stops
    bool lease_lost = false;     // counted once
    bool handler_ran = false;    // counted in the in-flight gauge
    asio::steady_timer* renew_timer = nullptr;
  };

  // Finds the series add() and add_task() laid out (none is made here, on the runner's thread).
  void lay_out() {
    for (auto& [type, handler] : r_.handlers_) {
      slots_[type] = Slot{handler.get(), &r_.metrics_.type(type), r_.config_.concurrency_of(type), 0};
    }
    if (!r_.tasks_.empty()) {
      tick_handler_ = std::make_unique<TickHandler>(r_.tasks_);
      slots_[kTickType] = Slot{tick_handler_.get(), &r_.metrics_.type(kTickType), r_.config_.concurrency_of(kTickType), 0};
    }
    for (auto& [name, task] : r_.tasks_) task_metrics_[name] = &r_.metrics_.task(name);
  }

  template <class Awaitable>
  void spawn(Awaitable work) {
    ++alive_;
    asio::co_spawn(ioc_, std::move(work), [this](std::exception_ptr error) {
      --alive_;
      stop_when_idle();
      if (!error) return;
      r_.metrics_.count_bug();
      try {
        std::rethrow_exception(error);
      } catch (std::exception const& e) {
        spdlog::error("jobs: a runner coroutine failed: {}", e.what());
      }
    });
  }

  // The queue and the store go while this loop still exists: a redis connection's destructor
  // hands its closing to the loop (destroyed after them, it would be freed memory). After a
  // graceful stop the loop runs that closing (bounded: the reader ends once its socket is
  // closed); after a forced one it must not run again (a stuck handler would resume on a store
  // that is gone), and the closing is dropped with the loop.
  void release_stores() {
    queue_.reset();
    store_.reset();
    if (forced_) return;
    ioc_.restart();
    ioc_.run_for(std::chrono::milliseconds(500));
  }

  // Once stopping and every coroutine of ours has ended, no store call of ours is in flight: the
  // loop may end even though a store's own background work (a redis connection's reader) would
  // keep it running forever; that work is destroyed with the loop, as on a server's worker threads.
  void stop_when_idle() {
    if (stopping_ && alive_ == 0) ioc_.stop();
  }

  void notify(Outcome outcome, Claim const& claim) {
    if (r_.observer_) r_.observer_(outcome, claim);
  }

  // --- waking ---

  // Sleeps `d` unless woken (nudge, a job done, drain). True when woken early.
  asio::awaitable<void> sleep(Millis d) {
    asio::steady_timer timer(ioc_, d);
    sleepers_.insert(&timer);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    sleepers_.erase(&timer);
  }

  void wake_all() {
    nudged_ = true;
    for (auto* timer : sleepers_) timer->cancel();
  }

  // --- claiming ---

  // The types with a free slot, and how many jobs one claim may take: the fewest free slots of
  // any of them, so that no type goes over its concurrency whichever types the jobs are of.
  struct Claimable {
    std::vector<std::string> types;
    std::size_t max = 0;
  };
  Claimable claimable() const {
    Claimable out;
    for (auto const& [type, slot] : slots_) {
      if (slot.in_flight >= slot.limit) continue;
      auto free = static_cast<std::size_t>(slot.limit - slot.in_flight);
      out.max = out.types.empty() ? free : std::min(out.max, free);
      out.types.push_back(type);
    }
    return out;
  }

  asio::awaitable<void> claim_loop() {
    Millis lease = r_.config_.lease;
    std::string worker = r_.instance_;
    while (claiming_) {
      nudged_ = false;
      auto [types, max] = claimable();
      if (types.empty()) {
        co_await sleep(r_.config_.poll_interval);
        continue;
      }
      auto claims = co_await queue_->claim_batch(std::move(types), worker, lease, max);
      if (!claims) {
        spdlog::warn("jobs: claim failed: {}", claims.error().describe());
        co_await sleep(r_.config_.poll_interval);
        continue;
      }
      if (claims->empty()) {
        if (!nudged_) co_await sleep(r_.config_.poll_interval);
        continue;
      }
      if (!claiming_) {  // drain began while the claims were on their way: hand them straight back
        for (auto const& claim : *claims) co_await give_back(claim);
        break;
      }
      for (auto& claim : *claims) start_job(std::move(claim));
    }
    claim_loop_done_ = true;
    wake_all();
  }

  // This process may hold two claims of one job: one whose lease ran out while it worked, and
  // the job claimed again.
  static std::string claim_key(Claim const& claim) { return claim.id + "#" + std::to_string(claim.fence); }

  void start_job(Claim claim) {
    auto running = std::make_shared<Running>();
    running->claim = std::move(claim);
    Slot& slot = slots_.at(running->claim.type);
    ++slot.in_flight;
    slot.metrics->claimed.fetch_add(1, std::memory_order_relaxed);
    running_[claim_key(running->claim)] = running;
    spawn(work_on(running));
    spawn(renew_lease(running));
  }

  asio::awaitable<void> work_on(std::shared_ptr<Running> running) {
    Slot& slot = slots_.at(running->claim.type);
    co_await handle(*running, slot);
    running->finished = true;
    if (running->renew_timer) running->renew_timer->cancel();
    --slot.in_flight;
    if (running->handler_ran) slot.metrics->in_flight.fetch_sub(1, std::memory_order_relaxed);
    running_.erase(claim_key(running->claim));
    wake_all();  // a slot is free (and drain may be waiting for the last job)
  }

  // Renews every renew interval until the job is finished. A refused renew means another
  // worker holds the job now: counted; the job goes on, its fenced commit decides.
  asio::awaitable<void> renew_lease(std::shared_ptr<Running> running) {
    Millis every = r_.config_.renew_interval();
    Millis lease = r_.config_.lease;
    while (!running->finished) {
      asio::steady_timer timer(ioc_, every);
      running->renew_timer = &timer;
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      running->renew_timer = nullptr;
      if (running->finished) break;
      auto renewed = co_await queue_->renew(running->claim.id, running->claim.fence, lease);
      if (!renewed) {
        spdlog::warn("jobs: renew of {} failed: {}", running->claim.id, renewed.error().describe());
        continue;
      }
      if (!*renewed) {
        lease_lost(*running);
        break;
      }
    }
  }

  void lease_lost(Running& running) {
    if (running.lease_lost) return;
    running.lease_lost = true;
    slots_.at(running.claim.type).metrics->lease_losses.fetch_add(1, std::memory_order_relaxed);
    notify(Outcome::lease_lost, running.claim);
  }

  // --- one claim ---

  asio::awaitable<void> handle(Running& running, Slot& slot) {
    Claim const& claim = running.claim;
    auto marker = slot.handler->marker(claim);
    if (!marker) {
      std::string why = marker.error().describe();
      if (marker.error().code == Errc::invalid) {
        co_await give_up(running, std::move(why));
      } else {
        co_await retry(running, std::move(why));
      }
      co_return;
    }
    auto present = co_await store_->hget(marker->key, marker->field);
    if (!present) {
      std::string why = present.error().describe();
      co_await retry(running, std::move(why));
      co_return;
    }
    if (stopping_) co_return;
    if (*present) {  // the effect happened; its acknowledgement did not
      co_await complete(running);
      co_return;
    }
    JobContext ctx{claim, *store_, r_.clock_, r_.instance_};
    // In flight from here: past the marker check, in the handler, then its commit. So a process
    // seen with a job in flight (the lab's mid-job fault target) has a claim that will write.
    running.handler_ran = true;
    slot.metrics->in_flight.fetch_add(1, std::memory_order_relaxed);
    auto writes = co_await slot.handler->run(ctx);
    if (stopping_) co_return;
    if (!writes) {
      std::string why = writes.error().describe();
      if (writes.error().code == Errc::invalid) {
        co_await give_up(running, std::move(why));
      } else {
        co_await retry(running, std::move(why));
      }
      co_return;
    }
    co_await commit(running, *marker, std::move(*writes));
  }

  asio::awaitable<void> commit(Running& running, Marker marker, std::vector<state::Write> writes) {
    Claim const& claim = running.claim;
    writes.push_back(state::Write::hset(marker.key, marker.field,
                                        marker_record(r_.instance_, claim.fence, r_.clock_.now_ms())));
    std::vector<state::Condition> conditions;
    if (r_.config_.fencing) {
      conditions.push_back(state::Condition::equals(state::fence_key(claim.id), std::to_string(claim.fence)));
      conditions.push_back(state::Condition::field_absent(marker.key, marker.field));
    }
    if (queue_->commits_and_completes()) {
      co_await commit_and_complete(running, std::move(conditions), std::move(writes));
      co_return;
    }
    auto committed = co_await store_->commit_if(std::move(conditions), std::move(writes));
    if (stopping_) co_return;  // committed or not: the next claim finds the marker, or runs it
    if (!committed) {
      core::Error const error = committed.error();  // named: no temporary inside a co_await (g++ 12)
      co_await commit_failed(running, error);
      co_return;
    }
    if (!*committed) {
      co_await commit_refused(running);
      co_return;
    }
    count_tick_run(claim);
    co_await complete(running);
  }

  // The same, in one step where the queue has one (state::JobQueue::commits_and_completes).
  asio::awaitable<void> commit_and_complete(Running& running, std::vector<state::Condition> conditions,
                                            std::vector<state::Write> writes) {
    Claim const& claim = running.claim;
    auto finished = co_await queue_->commit_and_complete(claim.id, claim.fence, std::move(conditions), std::move(writes));
    // Done is done, stopping or not: counted. Anything else is left to the next claim.
    if (stopping_ && !(finished && *finished == state::CommitOutcome::completed)) co_return;
    if (!finished) {
      core::Error const error = finished.error();  // named: no temporary inside a co_await (g++ 12)
      co_await commit_failed(running, error);
      co_return;
    }
    switch (*finished) {
      case state::CommitOutcome::refused:
        co_await commit_refused(running);
        co_return;
      case state::CommitOutcome::written_not_held:  // as a completion refused after the commit
        count_tick_run(claim);
        lease_lost(running);
        co_return;
      case state::CommitOutcome::completed:
        count_tick_run(claim);
        completed(running);
        co_return;
    }
  }

  asio::awaitable<void> commit_failed(Running& running, core::Error const& error) {
    std::string why = error.describe();
    if (error.code == Errc::invalid) {
      std::string reason = "commit refused: " + why;
      co_await give_up(running, std::move(reason));
    } else {
      co_await retry(running, std::move(why));
    }
  }

  // A condition failed: a newer claim holds the fence (our write is refused, the job is theirs to
  // complete), or the marker was there (an earlier claim's commit whose acknowledgement was lost).
  asio::awaitable<void> commit_refused(Running& running) {
    Claim const& claim = running.claim;
    std::string fence_key = state::fence_key(claim.id);
    auto fence = co_await store_->get(std::move(fence_key));
    if (!fence) {
      std::string why = fence.error().describe();
      co_await retry(running, std::move(why));
      co_return;
    }
    if (*fence != std::to_string(claim.fence)) {
      slots_.at(claim.type).metrics->fenced_writes_refused.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("jobs: write refused: stale lease ({} fence {}, the job's is {})", claim.id, claim.fence,
                   fence->value_or("none"));
      notify(Outcome::stale_refused, claim);
      co_return;
    }
    co_await complete(running);
  }

  // A tick whose effect was written counts as run (other job types: nothing).
  void count_tick_run(Claim const& claim) {
    if (claim.type != kTickType) return;
    auto tick = parse_tick_key(claim.key);
    if (!tick) return;
    if (auto it = task_metrics_.find(tick->task); it != task_metrics_.end()) {
      it->second->ticks_run.fetch_add(1, std::memory_order_relaxed);
    }
  }

  asio::awaitable<void> complete(Running& running) {
    auto done = co_await queue_->complete(running.claim.id, running.claim.fence);
    if (!done) {
      // The job stays running until its lease runs out; its next claim finds the marker.
      spdlog::warn("jobs: completing {} failed: {}", running.claim.id, done.error().describe());
      co_return;
    }
    if (!*done) {
      lease_lost(running);
      co_return;
    }
    completed(running);
  }

  void completed(Running const& running) {
    slots_.at(running.claim.type).metrics->completed.fetch_add(1, std::memory_order_relaxed);
    notify(Outcome::completed, running.claim);
  }

  asio::awaitable<void> retry(Running& running, std::string error) {
    Claim const& claim = running.claim;
    Millis delay = backoff_delay(claim.attempt, r_.config_.backoff_base, r_.config_.backoff_max, random_);
    // The queue sends a job whose attempts are exhausted to the dead-letter list.
    bool last = claim.attempt >= claim.max_attempts;
    co_await fail(running, std::move(error), delay, last ? Outcome::dead : Outcome::retried);
  }

  // Unusable for good (a payload the handler cannot read): the dead-letter list at once.
  asio::awaitable<void> give_up(Running& running, std::string reason) {
    co_await fail(running, std::move(reason), std::nullopt, Outcome::dead);
  }

  asio::awaitable<void> fail(Running& running, std::string error, std::optional<Millis> retry_in, Outcome outcome) {
    Claim const& claim = running.claim;
    auto failed = co_await queue_->fail(claim.id, claim.fence, std::move(error), retry_in);
    if (!failed) {
      // The job stays running until its lease runs out, then is claimed again.
      spdlog::warn("jobs: failing {} failed: {}", claim.id, failed.error().describe());
      co_return;
    }
    if (!*failed) {
      lease_lost(running);
      co_return;
    }
    auto& m = *slots_.at(claim.type).metrics;
    (outcome == Outcome::dead ? m.dead_letters : m.retries).fetch_add(1, std::memory_order_relaxed);
    notify(outcome, claim);
  }

  asio::awaitable<void> give_back(Claim const& claim) {
    std::string reason = "drained";
    auto failed = co_await queue_->fail(claim.id, claim.fence, std::move(reason), Millis(0));
    if (failed && *failed) notify(Outcome::given_back, claim);
  }

  // --- draining ---

  asio::awaitable<void> drain_then_signal(std::chrono::steady_clock::time_point deadline,
                                          std::shared_ptr<std::promise<void>> done) {
    claiming_ = false;
    ticking_ = false;
    wake_all();
    while ((!running_.empty() || !claim_loop_done_) && std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      co_await sleep(std::max(left, Millis(1)));
    }
    auto unfinished = running_;  // give_back suspends; work_on may erase meanwhile
    for (auto& [id, running] : unfinished) {
      running->finished = true;
      if (running->renew_timer) running->renew_timer->cancel();
      co_await give_back(running->claim);
    }
    done->set_value();
  }

  // --- schedules ---

  asio::awaitable<void> schedule_loop(ScheduleEntry entry) {
    JobMetrics::Task& metrics = *task_metrics_.at(entry.task);
    // Never run anywhere: nothing was missed, the first tick is the next instant from now.
    std::int64_t started = r_.clock_.now_ms();
    auto last = co_await read_last(entry.task);
    std::int64_t ref = last.value_or(started);
    Claim ready;
    ready.key = entry.task;
    notify(Outcome::schedule_ready, ready);
    while (ticking_) {
      std::int64_t now = r_.clock_.now_ms();
      auto next = next_instant(entry.timing, ref);
      if (!next) co_return;  // none before year 10000
      if (now < *next) {
        co_await sleep(std::min(Millis(*next - now), r_.config_.poll_interval));
        continue;
      }
      // Late by more than a period (this process was paused, or just started): other instances
      // may have run the ticks meanwhile; what counts as missed starts at the store's last.
      if (due_between(entry.timing, ref, now).missed > 0) {
        auto stored = co_await read_last(entry.task);
        if (stored && *stored > ref) ref = *stored;
        if (!ticking_) break;
        now = r_.clock_.now_ms();
      }
      ref = co_await tick(entry, metrics, ref, now);
    }
  }

  asio::awaitable<std::optional<std::int64_t>> read_last(std::string task) {
    std::string key = last_tick_key(task);
    auto value = co_await store_->get(std::move(key));
    if (!value || !*value) co_return std::nullopt;
    std::int64_t at = 0;
    auto const& text = **value;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), at);
    if (ec != std::errc{} || ptr != text.data() + text.size()) co_return std::nullopt;
    co_return at;
  }

  // Enqueues the due instant (and, by the task's policy, the latest missed one); returns the new
  // reference: the due instant, or `ref` unchanged when its enqueue failed (tried again later).
  asio::awaitable<std::int64_t> tick(ScheduleEntry const& entry, JobMetrics::Task& metrics, std::int64_t ref,
                                     std::int64_t now) {
    Due due = due_between(entry.timing, ref, now);
    if (!due.current) co_return ref;
    if (!co_await enqueue_tick(entry.task, *due.current, metrics)) co_return ref;
    if (due.missed > 0) {
      std::int64_t skipped = due.missed;
      if (entry.missed == Missed::catch_up && co_await enqueue_tick(entry.task, *due.latest_missed, metrics, true)) {
        --skipped;
      }
      metrics.ticks_skipped.fetch_add(static_cast<std::uint64_t>(skipped), std::memory_order_relaxed);
    }
    co_return *due.current;
  }

  asio::awaitable<bool> enqueue_tick(std::string task, std::int64_t instant, JobMetrics::Task& metrics,
                                     bool catch_up = false) {
    state::JobSpec spec = tick_job(task, instant, r_.config_.max_attempts, catch_up);
    Claim seen;
    seen.type = spec.type;
    seen.key = spec.key;
    auto enqueued = co_await queue_->enqueue(std::move(spec));
    if (!enqueued) {
      spdlog::warn("jobs: enqueueing tick {}@{} failed: {}", task, instant, enqueued.error().describe());
      co_return false;
    }
    if (!enqueued->duplicate) metrics.ticks_enqueued.fetch_add(1, std::memory_order_relaxed);
    notify(enqueued->duplicate ? Outcome::tick_duplicate : Outcome::tick_enqueued, seen);
    wake_all();  // our own worker may take it at once
    co_return true;
  }

  // --- the queue gauges ---

  // Once a second of the runner's clock, however often it is woken: every nudge and every job's
  // end wakes all sleepers, and a counts() is a script as costly as a claim (bench/jobs: sampled at
  // each wake, it ran 430 times a second and took a sixth of redis-server's time per job).
  asio::awaitable<void> sample_counts() {
    std::int64_t next_ms = r_.clock_.now_ms();
    while (!stopping_) {
      std::int64_t now = r_.clock_.now_ms();
      // A wall clock stepped back (NTP, a resumed VM) must not freeze the gauges for the step.
      if (now >= next_ms || next_ms - now > kCountsEvery.count()) {
        auto counts = co_await queue_->counts();
        if (counts) r_.metrics_.set_queue_counts(*counts);
        now = r_.clock_.now_ms();
        next_ms = now + kCountsEvery.count();
      }
      if (!stopping_) co_await sleep(std::max(Millis(1), Millis(next_ms - now)));
    }
  }

  Runner& r_;
  std::mt19937_64 random_;  // backoff jitter
  std::shared_ptr<state::JobQueue> queue_;
  std::shared_ptr<state::Store> store_;
  std::unique_ptr<TickHandler> tick_handler_;
  std::map<std::string, Slot> slots_;
  std::map<std::string, JobMetrics::Task*> task_metrics_;
  std::map<std::string, std::shared_ptr<Running>> running_;  // by claim_key
  std::set<asio::steady_timer*> sleepers_;
  bool nudged_ = false;
  bool stopping_ = false;
  int alive_ = 0;  // coroutines of ours not yet ended (spawn)
  std::atomic<bool> forced_{false};  // force_stop() was called (from another thread)
  bool claiming_ = true;
  bool ticking_ = true;
  bool claim_loop_done_ = false;
  std::promise<void> ended_;
  std::future<void> ended_future_ = ended_.get_future();
  asio::io_context ioc_{1};  // last: see the class comment
};

Runner::Runner(JobsConfig config, state::JobQueueProvider& queues, state::StoreProvider& data,
               core::Clock const& clock, std::string instance, JobMetrics& metrics)
    : config_(std::move(config)),
      queues_(queues),
      data_(data),
      clock_(clock),
      instance_(std::move(instance)),
      metrics_(metrics) {}

Runner::~Runner() { stop(); }

void Runner::add(std::string type, std::unique_ptr<JobHandler> handler) {
  if (thread_.joinable()) throw std::logic_error("jobs: add() after start()");
  if (type == kTickType) throw std::logic_error("jobs: the job type 'tick' is the scheduler's");
  if (!handlers_.emplace(type, std::move(handler)).second) throw std::logic_error("jobs: type '" + type + "' added twice");
  metrics_.type(type);  // the series are laid out here, before any render can run beside the runner
}

void Runner::add_task(std::string name, std::unique_ptr<TaskHandler> task) {
  if (thread_.joinable()) throw std::logic_error("jobs: add_task() after start()");
  if (!tasks_.emplace(name, std::move(task)).second) throw std::logic_error("jobs: task '" + name + "' added twice");
  metrics_.type(kTickType);
  metrics_.task(name);
}

void Runner::set_observer(Observer observer) { observer_ = std::move(observer); }

void Runner::start() {
  std::vector<std::string> names;
  for (auto const& [name, task] : tasks_) names.push_back(name);
  check_tasks(config_, names);
  std::lock_guard lock(mutex_);
  if (loop_) throw std::logic_error("jobs: start() twice");
  loop_ = std::make_unique<Loop>(*this);
  thread_ = std::thread([loop = loop_.get()] { loop->run(); });
}

void Runner::nudge() {
  std::lock_guard lock(mutex_);
  if (loop_) loop_->post_nudge();
}

void Runner::drain() {
  drain(std::chrono::steady_clock::now() + config_.drain_grace);
}

void Runner::drain(std::chrono::steady_clock::time_point deadline) {
  std::future<void> drained;
  {
    std::lock_guard lock(mutex_);
    if (!loop_ || !thread_.joinable()) return;
    drained = loop_->post_drain(deadline);
  }
  // The wait is bounded even if the drain coroutine never signals (it gave back through a store
  // that does not answer): the store's own command timeouts come on top of the grace.
  drained.wait_until(deadline + std::chrono::seconds(30));
  stop();
}

bool Runner::stop() {
  std::unique_ptr<Loop> loop;
  bool graceful = true;
  {
    std::lock_guard lock(mutex_);
    if (!loop_) return true;
    // The io_context must outlive every store call in flight: a call offloaded to a store's
    // threads posts its result back to it. So the loops end by themselves first; only a handler
    // that does not finish within the grace makes the stop forced (the loop is then destroyed
    // with that handler suspended: safe unless it is inside a store call at that moment).
    loop_->begin_stop();
    if (!loop_->ended_within(config_.stop_grace)) {
      spdlog::warn("jobs: a job handler did not end within {} ms of the stop: stopping its thread anyway",
                   config_.stop_grace.count());
      loop_->force_stop();
      graceful = false;
    }
    if (thread_.joinable()) thread_.join();
    loop = std::move(loop_);
  }
  // Destroyed outside the lock: nudge() from another thread now finds no loop.
  return graceful;
}

}  // namespace outboard::jobs
