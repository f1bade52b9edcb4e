// outboard_jobs_bench: outboard's side of bench/jobs (docs/BENCHMARKS.md, "Jobs"), the workload of
// bench/jobs/bullmq_bench.mjs on our stack. Prints one JSON line on stdout.
//
//   outboard_jobs_bench --url redis://127.0.0.1:P/0 | sqlite:///abs/path.db [--driver runner|queue]
//       [--jobs 20000] [--concurrency 16] [--payload-bytes 100] [--window 64] [--timeout 300]
//
// N jobs of one type are enqueued ONE BY ONE from this process (each with its own dedupe key, at
// most `window` enqueues in flight), while C workers take them. Each job costs what a handler with
// no writes of its own costs in outboard: a claim (lease + fence), the marker check (HGET), the
// fenced commit of the marker (commit_if: the fence key equals the claim's fence and the marker
// field is absent; writes: the marker's record), and the completion. Each payload is a JSON text of
// exactly `payload-bytes` bytes holding its enqueue time (µs, steady clock: one process, one
// clock); a job's latency ends when it is acknowledged (complete() has returned true). Throughput:
// N / (last acknowledgement - first enqueue).
//
// Drivers:
//   runner  (default) a jobs::Runner (src/jobs/runner.hpp) with concurrency C for the type, on its
//           own thread, with a handler whose run() returns no writes; the enqueuer runs on the main
//           thread with that thread's own queue (its own connection) and nudges the runner after
//           each enqueue, as serve's request threads do; the runner's observer sees each completion.
//   queue   the JobQueue directly: C coroutines doing claim / HGET / commit_if / complete (one job per
//           claim, commit and completion in two steps: the Runner's path on a store with a
//           near-cache or WAIT), on ONE thread, the enqueuer on that thread and the same queue.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <fmt/format.h>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "jobs/config.hpp"
#include "jobs/handler.hpp"
#include "jobs/metrics.hpp"
#include "jobs/runner.hpp"
#include "state/job_queue.hpp"
#include "state/store.hpp"

namespace outboard::bench {
namespace {

namespace asio = boost::asio;
using core::Millis;

constexpr char kType[] = "bench";
constexpr Millis kLease{5000};     // the Runner's default lease (no job here comes near it)
constexpr Millis kIdlePoll{100};   // the Runner's default poll interval for idle workers
constexpr Millis kErrorPause{10};  // after a store error, before the next try

struct Options {
  std::string url;
  std::string driver = "runner";
  int jobs = 20000;
  int concurrency = 16;
  int payload_bytes = 100;
  int window = 64;
  int timeout_s = 300;
};

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // every thread of the process: the runner's and the sqlite pool's too
  auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// {"t":<µs>,"i":<index>,"pad":"xx..."} of exactly `bytes` bytes (bullmq_bench.mjs writes the same).
std::string make_payload(std::int64_t t_us, int index, int bytes) {
  std::string text = fmt::format(R"({{"t":{},"i":{},"pad":")", t_us, index);
  constexpr std::size_t kClose = 2;  // "}
  auto const want = static_cast<std::size_t>(bytes);
  if (text.size() + kClose < want) text.append(want - text.size() - kClose, 'x');
  text += "\"}";
  return text;
}

// The enqueue time a payload carries, as a handler would read it (no full JSON parse: the bench
// measures the queue, and BullMQ parses its job data in the worker anyway).
std::optional<std::int64_t> enqueue_time(std::string_view payload) {
  constexpr std::string_view kField = R"("t":)";
  auto at = payload.find(kField);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t value = 0;
  auto const* first = payload.data() + at + kField.size();
  auto [end, ec] = std::from_chars(first, payload.data() + payload.size(), value);
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

double percentile(std::vector<double> const& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// The marker of a bench job: one hash per job, as a receipt's (the marker check and the fenced
// commit touch it).
jobs::Marker marker_of(state::Claim const& claim) { return {"benchjob:{" + claim.id + "}", "done"}; }

// The enqueuing side, on the main thread (both drivers).
struct Producer {
  std::shared_ptr<state::JobQueue> queue;
  std::function<void()> on_enqueued;  // wakes the workers
  int jobs = 0;
  int payload_bytes = 0;
  int next = 0;            // the next job index to enqueue
  int enqueued = 0;        // enqueue() answered with a new job
  int failed = 0;          // enqueue errors: jobs that will never complete (counted, not waited for)
  int duplicates = 0;      // enqueue answered "duplicate" (none expected: every key is fresh)
  int coroutines_left = 0;
  std::int64_t done_us = 0;  // the last enqueue answered
};

asio::awaitable<void> run_producer(Producer& p) {
  while (p.next < p.jobs) {
    int const index = p.next++;
    state::JobSpec spec{kType, fmt::format("k{}", index), make_payload(now_us(), index, p.payload_bytes)};
    auto answer = co_await p.queue->enqueue(std::move(spec));
    if (!answer) {
      if (++p.failed == 1) std::cerr << "enqueue: " << answer.error().describe() << "\n";
      continue;
    }
    p.duplicates += answer->duplicate ? 1 : 0;
    ++p.enqueued;
    p.on_enqueued();
  }
  if (--p.coroutines_left == 0) p.done_us = now_us();
}

// The completing side: written by whichever thread acknowledges jobs, read once they are all done
// (runner: after its thread stopped).
struct Completions {
  std::vector<double> latencies_us;
  int completed = 0;
  int refused = 0;       // a fenced commit or a completion refused (a lease lost: none expected)
  int retried = 0;       // a job failed and went back to the queue (a store error)
  int dead = 0;
  int store_errors = 0;  // answers unavailable / timeout
  std::int64_t last_us = 0;

  void acknowledged(state::Claim const& claim) {
    ++completed;
    last_us = now_us();
    if (auto t = enqueue_time(claim.payload)) latencies_us.push_back(static_cast<double>(last_us - *t));
  }
};

// --------------------------------------------------------------------------- driver "queue"

// Everything the queue driver's coroutines share; they all run on the one io_context thread.
struct QueueRun {
  QueueRun(std::shared_ptr<state::JobQueue> q, std::shared_ptr<state::Store> s, core::Clock const& c, Producer& p,
           Completions& d)
      : queue(std::move(q)), store(std::move(s)), clock(c), producer(p), done(d) {}

  std::shared_ptr<state::JobQueue> queue;
  std::shared_ptr<state::Store> store;
  core::Clock const& clock;
  Producer& producer;
  Completions& done;
  std::vector<std::unique_ptr<asio::steady_timer>> idle_timers;  // one per worker
  std::vector<bool> idle;                                        // worker i waits on its timer

  bool finished() const { return done.completed + done.dead + producer.failed >= producer.jobs; }
  void wake_idle() {
    for (std::size_t i = 0; i < idle.size(); ++i)
      if (idle[i]) idle_timers[i]->cancel();
  }
};

asio::awaitable<void> pause(Millis how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The Runner's steps for a handler with no writes (src/jobs/runner.cpp, handle and commit): the
// marker check, the fenced commit of the marker alone, the completion. true when acknowledged.
asio::awaitable<bool> finish_job(QueueRun& run, state::Claim const& claim) {
  jobs::Marker const marker = marker_of(claim);
  auto seen = co_await run.store->hget(marker.key, marker.field);
  if (!seen) co_return false;
  if (!*seen) {
    std::vector<state::Condition> conditions{
        state::Condition::equals(state::fence_key(claim.id), std::to_string(claim.fence)),
        state::Condition::field_absent(marker.key, marker.field)};
    std::vector<state::Write> writes{state::Write::hset(
        marker.key, marker.field,
        fmt::format(R"({{"instance":"bench","fence":{},"at_ms":{}}})", claim.fence, run.clock.now_ms()))};
    auto committed = co_await run.store->commit_if(std::move(conditions), std::move(writes));
    if (!committed) co_return false;
    if (!*committed) {
      ++run.done.refused;
      co_return false;
    }
  }
  auto acknowledged = co_await run.queue->complete(claim.id, claim.fence);
  if (!acknowledged) co_return false;
  if (!*acknowledged) ++run.done.refused;
  co_return *acknowledged;
}

// One of the C workers: claim, finish, repeat; when nothing is claimable, wait for the producer's
// wake-up (or the idle poll, as the Runner's idle workers do).
asio::awaitable<void> run_worker(QueueRun& run, std::size_t id) {
  std::string const worker = fmt::format("bench-w{}", id);
  while (!run.finished()) {
    int const enqueued_before = run.producer.enqueued;
    std::vector<std::string> types{kType};
    auto claim = co_await run.queue->claim(std::move(types), worker, kLease);
    if (!claim) {
      if (++run.done.store_errors == 1) std::cerr << "claim: " << claim.error().describe() << "\n";
      co_await pause(kErrorPause);
      continue;
    }
    if (!*claim) {
      if (run.producer.enqueued != enqueued_before) continue;  // a job came in while the claim was on its way
      if (run.producer.coroutines_left == 0) break;           // all enqueued: the rest are in other hands
      run.idle[id] = true;
      run.idle_timers[id]->expires_after(kIdlePoll);
      co_await run.idle_timers[id]->async_wait(asio::as_tuple(asio::use_awaitable));
      run.idle[id] = false;
      continue;
    }
    state::Claim const job = std::move(**claim);
    if (!co_await finish_job(run, job)) {
      // A store error: the job stays claimed until its lease runs out, then is claimed again.
      if (++run.done.store_errors == 1) std::cerr << "job " << job.id << " not finished\n";
      continue;
    }
    run.done.acknowledged(job);
    if (run.finished()) run.wake_idle();
  }
}

// --------------------------------------------------------------------------- driver "runner"

// A job type whose effect is nothing: the Runner still checks and commits its marker.
class NoWritesHandler final : public jobs::JobHandler {
 public:
  core::Result<jobs::Marker> marker(state::Claim const& claim) const override { return marker_of(claim); }
  state::Async<std::vector<state::Write>> run(jobs::JobContext const&) override { co_return std::vector<state::Write>{}; }
};

jobs::JobsConfig runner_config(int concurrency) {
  jobs::JobsConfig config;  // the defaults: lease 5 s, renew every lease / 3, poll 100 ms, fencing on
  config.concurrency[kType] = concurrency;
  config.default_concurrency = concurrency;
  return config;
}

// --------------------------------------------------------------------------- both

struct Measured {
  std::int64_t t0_us = 0;
  bool timed_out = false;
  double cpu_s = 0;
};

nlohmann::json result_line(Options const& opts, std::string_view backend, Producer const& p, Completions& d,
                           Measured const& m) {
  std::sort(d.latencies_us.begin(), d.latencies_us.end());
  double const elapsed_s = static_cast<double>((d.completed ? d.last_us : now_us()) - m.t0_us) / 1e6;
  auto const& lat = d.latencies_us;
  return {{"contender", fmt::format("outboard-{}", backend)},
          {"backend", backend},
          {"driver", opts.driver},
          {"jobs", opts.jobs},
          {"concurrency", opts.concurrency},
          {"payload_bytes", make_payload(now_us(), opts.jobs - 1, opts.payload_bytes).size()},
          {"window", opts.window},
          {"completed", d.completed},
          {"failed", p.failed + d.dead},
          {"store_errors", d.store_errors},
          {"retried", d.retried},
          {"refused", d.refused},
          {"duplicates", p.duplicates},
          {"timed_out", m.timed_out},
          {"enqueue_s", static_cast<double>((p.done_us ? p.done_us : now_us()) - m.t0_us) / 1e6},
          {"elapsed_s", elapsed_s},
          {"jobs_per_s", elapsed_s > 0 ? d.completed / elapsed_s : 0},
          {"p50_ms", percentile(lat, 50) / 1000},
          {"p99_ms", percentile(lat, 99) / 1000},
          {"max_ms", lat.empty() ? 0 : lat.back() / 1000},
          // cpu_s: the measured interval; cpu_total_s: the whole process (start-up too), for
          // run.sh's estimate of what the rest of the machine used.
          {"cpu_s", m.cpu_s},
          {"cpu_total_s", cpu_seconds()}};
}

// Runs the producers (and the queue driver's workers) on `io` until finish() is called or the
// timeout; the store's connections keep an io_context busy for ever, so it is stopped, not drained.
struct MainLoop {
  asio::io_context& io;
  asio::steady_timer deadline;
  bool timed_out = false;
  bool finish_when_all_exit = false;
  int live = 0;

  MainLoop(asio::io_context& ctx, int timeout_s) : io(ctx), deadline(ctx, std::chrono::seconds(timeout_s)) {
    deadline.async_wait([this](boost::system::error_code ec) {
      if (!ec) timed_out = true;
      io.stop();
    });
  }
  void finish() { deadline.cancel(); }
  auto on_exit() {
    return [this](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (std::exception const& e) {
          std::cerr << "outboard_jobs_bench: a coroutine failed: " << e.what() << "\n";
        }
      }
      if (--live == 0 && finish_when_all_exit) finish();
    };
  }
  void spawn(asio::awaitable<void> work) {
    ++live;
    asio::co_spawn(io, std::move(work), on_exit());
  }
};

int run_bench(Options const& opts) {
  spdlog::set_level(spdlog::level::warn);  // as serve --log-level warn: nothing per job
  core::SystemClock clock;
  state::StoreOptions store_options;
  store_options.clock = &clock;
  auto stores = state::open_store(opts.url, store_options);
  auto queues = state::open_job_queue(opts.url, *stores, store_options, state::JobQueueOptions{});

  asio::io_context io;
  MainLoop loop(io, opts.timeout_s);
  Producer producer;
  producer.queue = queues->queue_for(io.get_executor());
  producer.jobs = opts.jobs;
  producer.payload_bytes = opts.payload_bytes;
  producer.coroutines_left = std::min(opts.window, opts.jobs);
  Completions done;
  done.latencies_us.reserve(static_cast<std::size_t>(opts.jobs));
  Measured measured;

  // The queue driver's state lives on this thread; the runner's on its own.
  std::unique_ptr<QueueRun> queue_run;
  jobs::JobMetrics metrics;
  std::unique_ptr<jobs::Runner> runner;
  std::atomic<int> settled{0};  // runner: jobs completed or dead (the observer's thread)
  if (opts.driver == "queue") {
    queue_run = std::make_unique<QueueRun>(producer.queue, stores->store_for(io.get_executor()), clock, producer, done);
    for (int i = 0; i < opts.concurrency; ++i) queue_run->idle_timers.push_back(std::make_unique<asio::steady_timer>(io));
    queue_run->idle.assign(static_cast<std::size_t>(opts.concurrency), false);
    producer.on_enqueued = [&] { queue_run->wake_idle(); };
  } else {
    runner = std::make_unique<jobs::Runner>(runner_config(opts.concurrency), *queues, *stores, clock, "bench", metrics);
    runner->add(kType, std::make_unique<NoWritesHandler>());
    // On the runner's thread. The last settled job tells the main thread, which then stops.
    runner->set_observer([&](jobs::Outcome outcome, state::Claim const& claim) {
      switch (outcome) {
        case jobs::Outcome::completed: done.acknowledged(claim); break;
        case jobs::Outcome::dead: ++done.dead; break;
        case jobs::Outcome::retried: ++done.retried; break;
        case jobs::Outcome::stale_refused:
        case jobs::Outcome::lease_lost: ++done.refused; break;
        default: return;
      }
      if (outcome != jobs::Outcome::completed && outcome != jobs::Outcome::dead) return;
      if (settled.fetch_add(1) + 1 == opts.jobs) asio::post(io, [&] { loop.finish(); });
    });
    runner->start();
    producer.on_enqueued = [&] { runner->nudge(); };
  }

  double const cpu0 = cpu_seconds();
  measured.t0_us = now_us();
  for (int i = 0; i < producer.coroutines_left; ++i) loop.spawn(run_producer(producer));
  if (queue_run) {
    for (int i = 0; i < opts.concurrency; ++i) loop.spawn(run_worker(*queue_run, static_cast<std::size_t>(i)));
    loop.finish_when_all_exit = true;  // the queue driver ends when its coroutines do
  }
  io.run();
  measured.cpu_s = cpu_seconds() - cpu0;
  measured.timed_out = loop.timed_out;
  if (runner) runner->stop();  // joins its thread: `done` is ours to read from here on

  std::cout << result_line(opts, stores->backend(), producer, done, measured).dump() << std::endl;
  return measured.timed_out || done.completed < opts.jobs ? 1 : 0;
}

}  // namespace
}  // namespace outboard::bench

int main(int argc, char** argv) {
  outboard::bench::Options opts;
  CLI::App app{"outboard_jobs_bench: N no-op jobs through outboard's job queue (bench/jobs)"};
  app.add_option("--url", opts.url, "redis://host:port/db or sqlite:///path.db")->required();
  app.add_option("--driver", opts.driver, "runner (jobs::Runner) or queue (the JobQueue directly)")
      ->check(CLI::IsMember({"runner", "queue"}));
  app.add_option("--jobs", opts.jobs)->check(CLI::Range(1, 10'000'000));
  app.add_option("--concurrency", opts.concurrency)->check(CLI::Range(1, 4096));
  app.add_option("--payload-bytes", opts.payload_bytes)->check(CLI::Range(48, 65536));
  app.add_option("--window", opts.window, "enqueues in flight")->check(CLI::Range(1, 4096));
  app.add_option("--timeout", opts.timeout_s, "seconds")->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  try {
    return outboard::bench::run_bench(opts);
  } catch (std::exception const& e) {  // start-up only: a bad URL
    std::cerr << "outboard_jobs_bench: " << e.what() << "\n";
    return 2;
  }
}
