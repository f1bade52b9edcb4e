// The job runner on a private redis-server: a job runs and completes once, and stop() ends the
// runner's loop by itself (no forced stop) although the redis connection's reader would keep
// that loop busy forever. Before the fix every stop on redis waited out the stop grace and forced
// the loop down, with the risk the forced path carries (a store call still in flight).
#include "jobs/runner.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <mutex>

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

TEST(RunnerRedis, AJobCompletesOnceAndTheRunnerStopsByItself) {
  testing::RedisServer redis;
  core::SystemClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  auto stores = state::open_store(redis.url(), options);
  auto queues = state::open_job_queue(redis.url(), *stores, options, state::JobQueueOptions{});
  JobsConfig config;
  config.lease = 2000ms;
  JobMetrics metrics;
  std::mutex mutex;
  std::condition_variable changed;
  int completed = 0;
  {
    Runner runner(config, *queues, *stores, clock, "r1", metrics);
    runner.add("work", std::make_unique<ListHandler>());
    runner.set_observer([&](Outcome outcome, state::Claim const&) {
      std::lock_guard lock(mutex);
      completed += outcome == Outcome::completed;
      changed.notify_all();
    });
    runner.start();
    boost::asio::io_context io;
    auto queue = queues->queue_for(io.get_executor());
    state::JobSpec spec{"work", "k1", "{}", core::Millis{0}, 3};
    auto queued = testing::run_coro(io, queue->enqueue(spec));
    ASSERT_TRUE(queued.has_value()) << queued.error().describe();
    runner.nudge();
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(changed.wait_for(lock, 30s, [&] { return completed == 1; }));
    }
    EXPECT_TRUE(runner.stop());  // ended by itself, not forced after the grace
    auto store = stores->store_for(io.get_executor());
    auto effects = testing::run_coro(io, store->list_range("effects"));
    ASSERT_TRUE(effects.has_value());
    EXPECT_EQ(*effects, std::vector<std::string>{"k1"});
    queue.reset();
    store.reset();
    io.restart();
    io.run_for(100ms);
  }
}

}  // namespace
}  // namespace outboard::jobs
