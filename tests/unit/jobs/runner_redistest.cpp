// The job runner on a private redis-server: a job runs and completes once, and stop() ends the
// runner's loop by itself (no forced stop) although the redis connection's reader would keep
// that loop busy forever (before that fix every stop on redis waited out the stop grace and
// forced the loop down, with the risk the forced path carries: a store call still in flight);
// batch claims keep each type within its concurrency; the one-step commit keeps the fencing rules.
#include "jobs/runner.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"

namespace outboard::jobs {
namespace {

using namespace std::chrono_literals;

// One entry in the list "effects" per job; marker effects-done.<key>.
class ListHandler final : public JobHandler {
 public:
  core::Result<Marker> marker(state::Claim const& claim) const override { return Marker{"effects-done", claim.key}; }
  state::Async<std::vector<state::Write>> run(JobContext const& ctx) override {
    co_return std::vector<state::Write>{state::Write::push("effects", ctx.claim.key)};
  }
};

// A private redis-server, its store and queue providers, this thread's queue and store, and
// what the runner reported.
class RunnerRedis : public ::testing::Test {
 protected:
  RunnerRedis() {
    options_.clock = &clock_;
    stores_ = state::open_store(redis_.url(), options_);
    queues_ = state::open_job_queue(redis_.url(), *stores_, options_, state::JobQueueOptions{});
    queue_ = queues_->queue_for(io_.get_executor());
    store_ = stores_->store_for(io_.get_executor());
  }
  // The connections close on the test's loop, before the providers go.
  ~RunnerRedis() override {
    queue_.reset();
    store_.reset();
    io_.restart();
    io_.run_for(100ms);
  }
  template <class T>
  T sync(state::Async<T> op) {
    auto r = testing::run_coro(io_, std::move(op));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if constexpr (!std::is_void_v<T>) return r.has_value() ? std::move(*r) : T{};
  }
  std::string enqueue(std::string type, std::string key) {
    return sync(queue_->enqueue(state::JobSpec{std::move(type), std::move(key), "{}", {}, 3})).id;
  }
  std::vector<std::string> effects() { return sync(store_->list_range("effects")); }

  Runner::Observer observer() {
    return [this](Outcome outcome, state::Claim const&) {
      std::lock_guard lock(mutex_);
      ++seen_[outcome];
      changed_.notify_all();
    };
  }
  // Waits until `outcome` was reported `n` times; false after 60 s (a broken run).
  bool wait_for(Outcome outcome, int n = 1) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 60s, [&] { return seen_[outcome] >= n; });
  }

  testing::RedisServer redis_;
  core::SystemClock clock_;
  state::StoreOptions options_;
  std::unique_ptr<state::StoreProvider> stores_;
  std::unique_ptr<state::JobQueueProvider> queues_;
  boost::asio::io_context io_;
  std::shared_ptr<state::JobQueue> queue_;
  std::shared_ptr<state::Store> store_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Outcome, int> seen_;
};

TEST_F(RunnerRedis, AJobCompletesOnceAndTheRunnerStopsByItself) {
  JobsConfig config;
  config.lease = 2000ms;
  JobMetrics metrics;
  Runner runner(config, *queues_, *stores_, clock_, "r1", metrics);
  runner.add("work", std::make_unique<ListHandler>());
  runner.set_observer(observer());
  runner.start();
  enqueue("work", "k1");
  runner.nudge();
  ASSERT_TRUE(wait_for(Outcome::completed));
  EXPECT_TRUE(runner.stop());  // ended by itself, not forced after the grace
  EXPECT_EQ(effects(), std::vector<std::string>{"k1"});
}

// Counts its own jobs in flight, holding each a few ms so that they overlap.
class OverlappingHandler final : public JobHandler {
 public:
  explicit OverlappingHandler(std::atomic<int>& most) : most_(most) {}
  core::Result<Marker> marker(state::Claim const& claim) const override { return Marker{"effects-done", claim.id}; }
  state::Async<std::vector<state::Write>> run(JobContext const& ctx) override {
    most_.store(std::max(most_.load(), ++in_flight_));
    boost::asio::steady_timer hold(co_await boost::asio::this_coro::executor, 5ms);
    co_await hold.async_wait(boost::asio::use_awaitable);
    --in_flight_;
    co_return std::vector<state::Write>{state::Write::push("effects", ctx.claim.id)};
  }

 private:
  std::atomic<int>& most_;
  int in_flight_ = 0;  // on the runner's thread only
};

// The runner fills its free slots with batch claims, and a batch never takes a type past its
// concurrency: with two types claimable, one claim takes at most what the fuller one has room for.
TEST_F(RunnerRedis, BatchClaimsNeverTakeATypePastItsConcurrency) {
  constexpr int kPerType = 12;
  for (std::string type : {"one", "many"}) {
    for (int i = 0; i < kPerType; ++i) enqueue(type, std::to_string(i));
  }
  JobsConfig config;
  config.lease = 10'000ms;
  config.concurrency = {{"one", 1}, {"many", 4}};
  JobMetrics metrics;
  std::atomic<int> most_one{0}, most_many{0};
  Runner runner(config, *queues_, *stores_, clock_, "r1", metrics);
  runner.add("one", std::make_unique<OverlappingHandler>(most_one));
  runner.add("many", std::make_unique<OverlappingHandler>(most_many));
  runner.set_observer(observer());
  runner.start();
  ASSERT_TRUE(wait_for(Outcome::completed, 2 * kPerType));
  EXPECT_TRUE(runner.stop());
  EXPECT_EQ(most_one.load(), 1);
  EXPECT_LE(most_many.load(), 4);
  EXPECT_GE(most_many.load(), 1);
  auto const all = effects();
  EXPECT_EQ(all.size(), 2u * kPerType);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 2u * kPerType);
}

// Holds in run() until released (a worker paused mid-job), then writes one entry to "effects".
class HeldHandler final : public JobHandler {
 public:
  std::promise<void> held;
  std::atomic<bool> released{false};
  core::Result<Marker> marker(state::Claim const& claim) const override { return Marker{"effects-done", claim.key}; }
  state::Async<std::vector<state::Write>> run(JobContext const& ctx) override {
    held.set_value();
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    while (!released) {  // the handler's own pause, not the test's synchronization
      timer.expires_after(1ms);
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
    co_return std::vector<state::Write>{state::Write::push("effects", ctx.claim.key)};
  }
};

// On redis the commit and the completion are one script (JobQueue::commit_and_complete): a
// worker whose job was taken over while it was paused must still be refused with fencing, and
// without it (the `locked` design) still write and not complete. The takeover: the test ends
// the lease in Redis by hand (the runner keeps renewing it), then claims the job (fence 2).
class RunnerRedisStale : public RunnerRedis, public ::testing::WithParamInterface<bool> {
 protected:
  void end_the_lease_in_redis(std::string const& id) {
    auto conn = state::RedisConnection::create(io_.get_executor(), state::RedisEndpoint{"127.0.0.1", redis_.port(), "", 0});
    std::string const job = "job:{" + id + "}";
    for (auto command : {state::encode_command({"HSET", job, "lease_until", "0"}),
                         state::encode_command({"ZADD", "jobs:{work}:running", "0", id})}) {
      auto done = testing::run_coro(io_, conn->execute(std::move(command)));
      EXPECT_TRUE(done.has_value() && !done->is_error());
    }
    conn->close();
  }
};

TEST_P(RunnerRedisStale, APausedWorkerWhoseJobWasTakenOverCommitsOnlyWithoutFencing) {
  bool const fencing = GetParam();
  JobsConfig config;
  config.lease = 60'000ms;  // renewed every 20 s: never refused before the takeover below
  config.fencing = fencing;
  config.concurrency["work"] = 1;
  JobMetrics metrics;
  auto handler = std::make_unique<HeldHandler>();
  HeldHandler& paused = *handler;
  Runner runner(config, *queues_, *stores_, clock_, "a", metrics);
  runner.add("work", std::move(handler));
  runner.set_observer(observer());
  ASSERT_TRUE(queue_->commits_and_completes());
  std::string const id = enqueue("work", "k");
  runner.start();
  runner.nudge();
  ASSERT_EQ(paused.held.get_future().wait_for(30s), std::future_status::ready);
  end_the_lease_in_redis(id);
  auto takeover = sync(queue_->claim({"work"}, "intruder", 60'000ms));
  ASSERT_TRUE(takeover.has_value());
  EXPECT_EQ(takeover->fence, 2);
  paused.released = true;

  ASSERT_TRUE(wait_for(fencing ? Outcome::stale_refused : Outcome::lease_lost));
  EXPECT_TRUE(runner.stop());
  EXPECT_EQ(effects(), fencing ? std::vector<std::string>{} : std::vector<std::string>{"k"});
  EXPECT_EQ(metrics.type("work").fenced_writes_refused.load(), fencing ? 1u : 0u);
  EXPECT_EQ(metrics.type("work").completed.load(), 0u);
  auto info = sync(queue_->get(id));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, state::JobState::running);  // the intruder's to finish
  EXPECT_EQ(info->fence, 2);
}

INSTANTIATE_TEST_SUITE_P(Fencing, RunnerRedisStale, ::testing::Bool(),
                         [](auto const& param_info) { return param_info.param ? "On" : "Off"; });

}  // namespace
}  // namespace outboard::jobs
