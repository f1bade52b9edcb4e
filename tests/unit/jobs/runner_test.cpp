// The job runner (jobs/runner.hpp) on the REAL memory and sqlite queues and stores, with a
// ManualClock for leases, retries and schedules. Every wait is for an event the runner reports
// (its observer), never a sleep; the 30 s bound only ends a broken run.
#include "jobs/runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "jobs/tick.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::jobs {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using core::Millis;
using state::Claim;

// What the runners reported, for the test thread to wait on.
class Events {
 public:
  Runner::Observer observer(std::string instance) {
    return [this, instance](Outcome outcome, Claim const& claim) {
      std::lock_guard lock(mutex_);
      seen_.push_back({outcome, claim.id.empty() ? claim.key : claim.id, instance});
      changed_.notify_all();
    };
  }
  std::size_t count(Outcome outcome) {
    std::lock_guard lock(mutex_);
    return count_locked(outcome);
  }
  // Waits until `outcome` was reported `n` times in all; false after 30 s (a broken run).
  bool wait_for(Outcome outcome, std::size_t n = 1) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return count_locked(outcome) >= n; });
  }
  // Everything reported, for a failure's message.
  std::string describe() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (auto const& e : seen_) out += std::string(to_string(e.outcome)) + " " + e.id + " @" + e.instance + "\n";
    return out;
  }
  std::set<std::string> instances_of(Outcome outcome) {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    for (auto const& e : seen_) {
      if (e.outcome == outcome) out.insert(e.instance);
    }
    return out;
  }

 private:
  struct Event {
    Outcome outcome;
    std::string id;
    std::string instance;
  };
  std::size_t count_locked(Outcome outcome) const {
    std::size_t n = 0;
    for (auto const& e : seen_) n += e.outcome == outcome;
    return n;
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> seen_;
};

// A job type whose effect is one entry in the list "effects" and whose marker is
// effects-done.<key>. Payload "bad": unusable. It fails with Errc::unavailable while `failures`
// lasts, and, with `hold`, waits in run() until released (a worker paused mid-job).
class EffectHandler final : public JobHandler {
 public:
  std::atomic<int> runs{0};
  std::atomic<int> failures{0};
  std::atomic<bool> hold{false};
  std::promise<void> held;  // set when run() starts waiting
  std::atomic<bool> released{false};

  core::Result<Marker> marker(Claim const& claim) const override {
    if (claim.payload == "bad") return core::make_error(core::Errc::invalid, "payload is not an order");
    return Marker{"effects-done", claim.key};
  }

  state::Async<std::vector<state::Write>> run(JobContext const& ctx) override {
    int n = ++runs;
    if (failures.load() > 0) {
      --failures;
      co_return core::make_error(core::Errc::unavailable, "render failed #" + std::to_string(n));
    }
    if (hold) {
      held.set_value();
      asio::steady_timer timer(co_await asio::this_coro::executor);
      while (!released) {  // the handler's own pause, not the test's synchronization
        timer.expires_after(1ms);
        co_await timer.async_wait(asio::use_awaitable);
      }
    }
    co_return std::vector<state::Write>{state::Write::push("effects", ctx.claim.key + " by " + std::string(ctx.instance))};
  }
};

class CountingTask final : public TaskHandler {
 public:
  explicit CountingTask(std::atomic<int>& runs) : runs_(runs) {}
  state::Async<std::vector<state::Write>> run(state::Store&, std::int64_t instant_ms) override {
    ++runs_;
    co_return std::vector<state::Write>{state::Write::push("task-runs", std::to_string(instant_ms))};
  }

 private:
  std::atomic<int>& runs_;
};

// A task that, with `hold`, waits in run() until released (an instance that dies mid-tick).
class HoldingTask final : public TaskHandler {
 public:
  std::promise<void> held;
  std::atomic<bool> released{false};
  state::Async<std::vector<state::Write>> run(state::Store&, std::int64_t instant_ms) override {
    held.set_value();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!released) {
      timer.expires_after(1ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return std::vector<state::Write>{state::Write::push("task-runs", std::to_string(instant_ms))};
  }
};

// One instance: its own providers (as a process has), its runner, its metrics.
struct Instance {
  std::unique_ptr<state::StoreProvider> stores;
  std::unique_ptr<state::JobQueueProvider> queues;
  JobMetrics metrics;
  std::unique_ptr<Runner> runner;
};

class RunnerTest : public ::testing::TestWithParam<std::string> {
 protected:
  RunnerTest() { options_.clock = &clock_; }
  ~RunnerTest() override {
    for (auto& i : instances_) i->runner->stop();
  }

  std::string url() const {
    return GetParam() == "memory" ? "memory://" : "sqlite://" + (dir_ / "jobs.db").string();
  }

  JobsConfig config() const {
    JobsConfig c;
    c.lease = 1000ms;
    c.renew = 1h;  // no renewal during a test: leases end when the test moves the clock
    c.poll_interval = 50ms;
    c.backoff_base = 10ms;
    c.backoff_max = 10ms;
    c.stop_grace = 50ms;  // a held handler (a worker paused for good) does not delay the test's stop
    return c;
  }

  // The test thread's view of the store and queue (the first instance's providers for memory,
  // which lives in one process; the file for sqlite).
  void open_view() {
    if (GetParam() == "memory") {
      view_queue_ = instances_.at(0)->queues->queue_for(io_.get_executor());
      view_store_ = instances_.at(0)->stores->store_for(io_.get_executor());
      return;
    }
    view_stores_ = state::open_store(url(), options_);
    view_queues_ = state::open_job_queue(url(), *view_stores_, options_, {});
    view_queue_ = view_queues_->queue_for(io_.get_executor());
    view_store_ = view_stores_->store_for(io_.get_executor());
  }

  Instance& add_instance(std::string name, JobsConfig c, std::unique_ptr<JobHandler> handler = nullptr) {
    auto i = std::make_unique<Instance>();
    i->stores = state::open_store(url(), options_);
    i->queues = state::open_job_queue(url(), *i->stores, options_, {});
    i->runner = std::make_unique<Runner>(std::move(c), *i->queues, *i->stores, clock_, name, i->metrics);
    if (handler) i->runner->add("effect", std::move(handler));
    i->runner->set_observer(events_.observer(name));
    instances_.push_back(std::move(i));
    return *instances_.back();
  }

  template <class T>
  T sync(asio::awaitable<core::Result<T>> op) {
    auto r = testing::run_coro(io_, std::move(op));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if constexpr (!std::is_void_v<T>) return r.has_value() ? std::move(*r) : T{};
  }

  state::Enqueued enqueue(std::string key, std::string payload = "{}", int max_attempts = 5) {
    state::JobSpec spec{"effect", std::move(key), std::move(payload), Millis(0), max_attempts};
    return sync(view_queue_->enqueue(std::move(spec)));
  }

  std::vector<std::string> effects() { return sync(view_store_->list_range("effects")); }

  void expect_dead(std::string const& id, int attempts, std::string const& error) {
    auto info = sync(view_queue_->get(id));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->state, state::JobState::dead);
    EXPECT_EQ(info->attempts, attempts);
    EXPECT_NE(info->last_error.find(error), std::string::npos) << info->last_error;
  }

  testing::TempDir dir_;
  core::ManualClock clock_;
  state::StoreOptions options_;
  Events events_;
  std::vector<std::unique_ptr<Instance>> instances_;
  asio::io_context io_;
  std::unique_ptr<state::StoreProvider> view_stores_;
  std::unique_ptr<state::JobQueueProvider> view_queues_;
  std::shared_ptr<state::JobQueue> view_queue_;
  std::shared_ptr<state::Store> view_store_;
};

TEST_P(RunnerTest, AJobCompletesOnceAndRecordsWhoDidIt) {
  auto handler = std::make_unique<EffectHandler>();
  auto& runs = handler->runs;
  auto& a = add_instance("a", config(), std::move(handler));
  open_view();
  auto first = enqueue("order-1");
  a.runner->start();
  a.runner->nudge();
  ASSERT_TRUE(events_.wait_for(Outcome::completed)) << events_.describe();
  EXPECT_TRUE(enqueue("order-1").duplicate);  // done: the same key is the same job

  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(effects(), std::vector<std::string>{"order-1 by a"});
  auto record = sync(view_store_->hget("effects-done", "order-1"));
  ASSERT_TRUE(record);
  auto json = nlohmann::json::parse(*record);
  EXPECT_EQ(json["instance"], "a");
  EXPECT_EQ(json["fence"], 1);
  EXPECT_EQ(json["at_ms"], clock_.now_ms());
  auto info = sync(view_queue_->get(first.id));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, state::JobState::done);
  EXPECT_EQ(a.metrics.type("effect").completed.load(), 1u);
  EXPECT_EQ(a.metrics.type("effect").claimed.load(), 1u);
}

TEST_P(RunnerTest, AHandlerErrorRetriesThenDeadLettersWithTheLastError) {
  auto handler = std::make_unique<EffectHandler>();
  handler->failures = 100;
  auto& runs = handler->runs;
  auto& a = add_instance("a", config(), std::move(handler));
  open_view();
  auto job = enqueue("order-2", "{}", 3);
  a.runner->start();
  a.runner->nudge();
  for (std::size_t retried = 1; retried <= 2; ++retried) {
    ASSERT_TRUE(events_.wait_for(Outcome::retried, retried)) << events_.describe();
    clock_.advance(1s);  // past the backoff (10 ms at most)
    a.runner->nudge();
  }
  ASSERT_TRUE(events_.wait_for(Outcome::dead)) << events_.describe();

  EXPECT_EQ(runs.load(), 3);
  expect_dead(job.id, 3, "render failed #3");
  EXPECT_TRUE(effects().empty());
  EXPECT_EQ(a.metrics.type("effect").retries.load(), 2u);
  EXPECT_EQ(a.metrics.type("effect").dead_letters.load(), 1u);
}

TEST_P(RunnerTest, AnUnparsablePayloadGoesStraightToTheDeadLetters) {
  auto handler = std::make_unique<EffectHandler>();
  auto& runs = handler->runs;
  auto& a = add_instance("a", config(), std::move(handler));
  open_view();
  auto job = enqueue("order-3", "bad", 5);
  a.runner->start();
  a.runner->nudge();
  ASSERT_TRUE(events_.wait_for(Outcome::dead)) << events_.describe();

  EXPECT_EQ(runs.load(), 0);
  expect_dead(job.id, 1, "payload is not an order");
  EXPECT_EQ(events_.count(Outcome::retried), 0u);
}

// The queue gauges are sampled once a second of the runner's clock, not at every wake: each nudge
// and each job's end wake the runner's sleepers, and a sample is a counts() script per wake (seen
// in bench/jobs: 430 a second).
TEST_P(RunnerTest, QueueGaugesAreSampledOncePerSecondOfItsClockNotAtEveryWake) {
  auto& a = add_instance("a", config(), std::make_unique<EffectHandler>());
  open_view();
  constexpr int kJobs = 20;
  for (int i = 0; i < kJobs; ++i) enqueue("order-" + std::to_string(i));
  a.runner->start();
  for (int i = 0; i < kJobs; ++i) a.runner->nudge();
  ASSERT_TRUE(events_.wait_for(Outcome::completed, kJobs)) << events_.describe();
  EXPECT_LE(a.metrics.queue_samples(), 1u) << "the clock stood still, yet the gauges were sampled again";

  // A second later (the runner's clock), the next wake samples again.
  auto before = a.metrics.queue_samples();
  clock_.advance(1s);
  bool sampled = false;
  for (int look = 0; look < 30'000 && !sampled; ++look) {  // a bound that only ends a broken run
    a.runner->nudge();
    std::this_thread::sleep_for(1ms);
    sampled = a.metrics.queue_samples() > before;
  }
  EXPECT_TRUE(sampled) << "no sample after the clock moved a second";
}

// A worker pauses mid-job past its lease; the job is claimed again (fence 2). When the paused
// worker wakes, its commit must be refused.
class StaleLease : public RunnerTest {
 protected:
  // Returns the paused handler after the takeover; the job's latest fence is then 2.
  EffectHandler& pause_and_take_over(JobsConfig c) {
    c.concurrency["effect"] = 1;  // the runner itself must not reclaim the job it holds
    auto handler = std::make_unique<EffectHandler>();
    handler->hold = true;
    EffectHandler& paused = *handler;
    auto& a = add_instance("a", std::move(c), std::move(handler));
    open_view();
    job_ = enqueue("order-4").id;
    a.runner->start();
    a.runner->nudge();
    EXPECT_EQ(paused.held.get_future().wait_for(30s), std::future_status::ready);
    clock_.advance(2s);  // the 1 s lease ran out
    auto takeover = sync(view_queue_->claim({"effect"}, "intruder", Millis(60'000)));
    EXPECT_TRUE(takeover);
    if (takeover) {
      EXPECT_EQ(takeover->fence, 2);
    }
    return paused;
  }
  std::string job_;
};

TEST_P(StaleLease, WithFencingTheStaleWriteIsRefusedAndCounted) {
  auto& paused = pause_and_take_over(config());
  paused.released = true;
  ASSERT_TRUE(events_.wait_for(Outcome::stale_refused)) << events_.describe();

  EXPECT_TRUE(effects().empty());
  EXPECT_FALSE(sync(view_store_->hget("effects-done", "order-4")));
  auto info = sync(view_queue_->get(job_));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, state::JobState::running);  // the intruder's to finish
  EXPECT_EQ(info->fence, 2);
  EXPECT_EQ(instances_[0]->metrics.type("effect").fenced_writes_refused.load(), 1u);
  EXPECT_EQ(events_.count(Outcome::completed), 0u);
}

TEST_P(StaleLease, WithoutFencingTheSameStaleWriteIsAccepted) {
  auto c = config();
  c.fencing = false;  // the `locked` design
  auto& paused = pause_and_take_over(c);
  paused.released = true;
  ASSERT_TRUE(events_.wait_for(Outcome::lease_lost)) << events_.describe();  // its completion is refused...

  EXPECT_EQ(effects(), std::vector<std::string>{"order-4 by a"});  // ...but its write went in
  auto record = sync(view_store_->hget("effects-done", "order-4"));
  ASSERT_TRUE(record);
  EXPECT_EQ(nlohmann::json::parse(*record)["fence"], 1);
  EXPECT_EQ(instances_[0]->metrics.type("effect").fenced_writes_refused.load(), 0u);
  EXPECT_EQ(instances_[0]->metrics.type("effect").lease_losses.load(), 1u);
}

TEST_P(StaleLease, DrainGivesBackAJobThatDidNotFinishInItsGrace) {
  auto handler = std::make_unique<EffectHandler>();
  handler->hold = true;
  EffectHandler& paused = *handler;
  auto c = config();
  c.concurrency["effect"] = 1;
  auto& a = add_instance("a", std::move(c), std::move(handler));
  open_view();
  auto job = enqueue("order-5");
  a.runner->start();
  a.runner->nudge();
  ASSERT_EQ(paused.held.get_future().wait_for(30s), std::future_status::ready);
  a.runner->drain(std::chrono::steady_clock::now() + 20ms);  // returns once it is given back
  paused.released = true;

  EXPECT_EQ(events_.count(Outcome::given_back), 1u) << events_.describe();
  auto info = sync(view_queue_->get(job.id));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, state::JobState::waiting);
  EXPECT_EQ(info->last_error, "drained");
  auto next = sync(view_queue_->claim({"effect"}, "b", Millis(60'000)));  // claimable at once
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fence, 2);
  EXPECT_TRUE(effects().empty());
}

// Schedules: ticks at every minute, on one or two instances.
class Schedules : public RunnerTest {
 protected:
  JobsConfig every_minute(Missed missed = Missed::skip) {
    auto c = config();
    ScheduleEntry e;
    e.task = "sweep";
    e.every = "1m";
    e.timing = Every{60'000ms};
    e.missed = missed;
    c.schedules.push_back(e);
    return c;
  }
  Instance& add_scheduled(std::string name, JobsConfig c) {
    auto& i = add_instance(std::move(name), std::move(c));
    i.runner->add_task("sweep", std::make_unique<CountingTask>(task_runs_));
    return i;
  }
  std::int64_t minute_floor(std::int64_t ms) const { return ms / 60'000 * 60'000; }

  std::atomic<int> task_runs_{0};
};

TEST_P(Schedules, AMissedTaskNameStopsTheStart) {
  auto& a = add_instance("a", every_minute());
  EXPECT_THROW(a.runner->start(), core::ConfigError);
}

TEST_P(Schedules, CatchUpRunsOneTickForTheLatestMissedInstant) {
  std::int64_t start = minute_floor(clock_.now_ms());
  clock_.advance(5min + 10s);  // 5 instants since `last`: the latest is due, 4 are missed
  auto& a = add_scheduled("a", every_minute(Missed::catch_up));
  open_view();
  sync(view_store_->set(last_tick_key("sweep"), std::to_string(start)));
  a.runner->start();
  ASSERT_TRUE(events_.wait_for(Outcome::completed, 2)) << events_.describe();

  auto runs = sync(view_store_->list_range("task-runs"));
  std::set<std::string> instants(runs.begin(), runs.end());
  EXPECT_EQ(instants, (std::set<std::string>{std::to_string(start + 4 * 60'000), std::to_string(start + 5 * 60'000)}));
  EXPECT_EQ(a.metrics.task("sweep").ticks_skipped.load(), 3u);
  EXPECT_EQ(sync(view_store_->get(last_tick_key("sweep"))), std::to_string(start + 5 * 60'000));
}

TEST_P(Schedules, SkipCountsTheMissedInstantsAndRunsOnlyTheDueOne) {
  std::int64_t start = minute_floor(clock_.now_ms());
  clock_.advance(5min + 10s);
  auto& a = add_scheduled("a", every_minute(Missed::skip));
  open_view();
  sync(view_store_->set(last_tick_key("sweep"), std::to_string(start)));
  a.runner->start();
  ASSERT_TRUE(events_.wait_for(Outcome::completed)) << events_.describe();

  EXPECT_EQ(sync(view_store_->list_range("task-runs")), std::vector<std::string>{std::to_string(start + 5 * 60'000)});
  EXPECT_EQ(a.metrics.task("sweep").ticks_skipped.load(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Queues, RunnerTest, ::testing::Values("memory", "sqlite"));
INSTANTIATE_TEST_SUITE_P(Queues, StaleLease, ::testing::Values("memory", "sqlite"));
INSTANTIATE_TEST_SUITE_P(Queues, Schedules, ::testing::Values("memory", "sqlite"));

// Two instances (each with its own connection to one sqlite file, as two processes) with the same
// schedule: each instant is enqueued by both and run once.
class TwoInstances : public Schedules {};

TEST_P(TwoInstances, RunEachTickOnce) {
  auto& a = add_scheduled("a", every_minute());
  auto& b = add_scheduled("b", every_minute());
  open_view();
  // The last tick ran at the current minute: whenever each runner's thread reads it, the next
  // instant is the next minute (with no `last`, a runner would start from the clock it reads).
  std::int64_t first = minute_floor(clock_.now_ms()) + 60'000;
  sync(view_store_->set(last_tick_key("sweep"), std::to_string(first - 60'000)));
  a.runner->start();
  b.runner->start();
  // Both read `last` before the clock moves (else one may find the tick done and not enqueue it).
  ASSERT_TRUE(events_.wait_for(Outcome::schedule_ready, 2)) << events_.describe();
  constexpr int kTicks = 3;
  for (int k = 1; k <= kTicks; ++k) {
    clock_.advance(1min);
    a.runner->nudge();
    b.runner->nudge();
    // Both instances saw the instant (one enqueued it, the other found it there) and it ran.
    ASSERT_TRUE(events_.wait_for(Outcome::completed, static_cast<std::size_t>(k))) << events_.describe();
    ASSERT_TRUE(events_.wait_for(Outcome::tick_enqueued, static_cast<std::size_t>(k))) << events_.describe();
    ASSERT_TRUE(events_.wait_for(Outcome::tick_duplicate, static_cast<std::size_t>(k))) << events_.describe();
  }

  EXPECT_EQ(task_runs_.load(), kTicks);
  EXPECT_EQ(events_.count(Outcome::tick_enqueued), static_cast<std::size_t>(kTicks));
  auto log = sync(view_store_->list_range(tick_log_key("sweep")));
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kTicks));
  for (int k = 0; k < kTicks; ++k) {
    EXPECT_EQ(nlohmann::json::parse(log[static_cast<std::size_t>(k)])["instant_ms"], first + k * 60'000);
  }
  EXPECT_EQ(sync(view_store_->hgetall(ticks_key("sweep"))).size(), static_cast<std::size_t>(kTicks));
  auto saw = events_.instances_of(Outcome::tick_enqueued);
  saw.merge(events_.instances_of(Outcome::tick_duplicate));
  EXPECT_EQ(saw, (std::set<std::string>{"a", "b"}));
}


}  // namespace
}  // namespace outboard::jobs

namespace outboard::jobs {
namespace {

TEST_P(TwoInstances, ATickSurvivesTheDeathOfTheInstanceThatHeldIt) {
  auto holding = std::make_unique<HoldingTask>();
  HoldingTask& dying = *holding;
  auto& a = add_instance("a", every_minute());
  a.runner->add_task("sweep", std::move(holding));
  auto& b = add_scheduled("b", every_minute());
  open_view();
  std::int64_t due = minute_floor(clock_.now_ms()) + 60'000;
  sync(view_store_->set(last_tick_key("sweep"), std::to_string(due - 60'000)));
  a.runner->start();
  clock_.advance(1min);
  a.runner->nudge();
  ASSERT_EQ(dying.held.get_future().wait_for(30s), std::future_status::ready);  // a holds the tick
  b.runner->start();
  a.runner->stop();  // a dies mid-tick: its claim stays until the lease runs out
  // Its providers go too: a claim a's last loop had sent to its sqlite threads is finished now,
  // not after the clock moved (it would take the job again, and the test's clock stands still).
  a.queues.reset();
  a.stores.reset();
  clock_.advance(2s);  // past the 1 s lease, before the next instant
  b.runner->nudge();
  ASSERT_TRUE(events_.wait_for(Outcome::completed)) << events_.describe();

  EXPECT_EQ(events_.instances_of(Outcome::completed), std::set<std::string>{"b"});
  EXPECT_EQ(sync(view_store_->list_range("task-runs")), std::vector<std::string>{std::to_string(due)});
  auto log = sync(view_store_->list_range(tick_log_key("sweep")));
  ASSERT_EQ(log.size(), 1u);
  auto entry = nlohmann::json::parse(log[0]);
  EXPECT_EQ(entry["instance"], "b");
  EXPECT_EQ(entry["fence"], 2);
  EXPECT_EQ(entry["instant_ms"], due);
}

INSTANTIATE_TEST_SUITE_P(Queues, TwoInstances, ::testing::Values("sqlite"));

}  // namespace
}  // namespace outboard::jobs
