#pragma once
// The job runner of one process (docs/JOBS.md): workers that claim jobs from the queue under a
// lease, run their handlers, and commit each effect once under the claim's fencing token; and the
// scheduler that enqueues one tick job per scheduled instant (every instance enqueues it, the key
// makes it one job, whose claim is the lock keyed by (task, instant)).
//
// Threads: the runner has its OWN thread and io_context. It asks the providers for its queue and
// store on that thread (queue_for / store_for), and everything below runs there. From other
// threads only nudge(), drain(), stop() and the destructor may be called.
//
// Per claim: marker() (Errc::invalid -> dead letter at once); the marker already in the data
// store -> complete (the effect happened, the ack was lost); else run() while a side coroutine
// renews the lease every renew interval, then ONE commit_if of the handler's writes plus the
// marker's record {"instance","fence","at_ms"}:
//   fencing on:  only if the job's fence key still holds this claim's fence and the marker is
//                absent. Refused: a newer claim holds the fence -> "stale lease", counted, not
//                completed (the newer holder will); else the marker was there -> complete.
//   fencing off: unconditionally (the `locked` design: it trusts the lease it held), then complete.
// Where the queue commits and completes in one step (redis://, JobQueue::commits_and_completes)
// the commit and the completion are that one step, with the same outcomes.
// Claims come in batches: each claim takes at most as many jobs as every claimable type has free
// slots for (JobQueue::claim_batch; one job where the backend claims one at a time).
// An error (store unavailable, a handler's transient error) -> fail with backoff(attempt); the
// queue sends it to the dead-letter list once its attempts are exhausted.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "jobs/config.hpp"
#include "jobs/handler.hpp"
#include "jobs/metrics.hpp"
#include "state/job_queue.hpp"
#include "state/store.hpp"

namespace outboard::jobs {

// The job type of scheduled ticks (built in): key "<task>@<instant_ms>".
inline constexpr char kTickType[] = "tick";

// What happened to a claim (or a tick), for tests and logs: handed to the observer on the
// runner's thread.
enum class Outcome {
  completed,      // committed (or found already done) and acknowledged
  retried,        // failed, back to the queue after a backoff
  dead,           // sent to the dead-letter list
  stale_refused,  // the commit was refused: another claim holds the fence
  lease_lost,     // a renew or the completion was refused (counted once per claim)
  given_back,     // drained: handed back unfinished
  tick_enqueued,   // a tick job this instance enqueued (the Claim has only type and key)
  tick_duplicate,  // a tick another instance had enqueued already (same)
  schedule_ready,  // a schedule read where its task stands and waits for its next instant (key: the task)
};
std::string_view to_string(Outcome outcome);

class Runner {
 public:
  using Observer = std::function<void(Outcome, state::Claim const&)>;

  Runner(JobsConfig config, state::JobQueueProvider& queues, state::StoreProvider& data, core::Clock const& clock,
         std::string instance, JobMetrics& metrics);
  ~Runner();
  Runner(Runner const&) = delete;
  Runner& operator=(Runner const&) = delete;

  // Before start(). Throws std::logic_error for a type or task added twice, or the type "tick".
  void add(std::string type, std::unique_ptr<JobHandler> handler);
  void add_task(std::string name, std::unique_ptr<TaskHandler> task);
  // Before start(); called on the runner's thread for every outcome (tests wait on it).
  void set_observer(Observer observer);

  // Starts the thread. Throws core::ConfigError when a schedule names a task not added.
  void start();
  // Wakes the idle workers and the schedules at once (after an enqueue by this process, or a
  // clock moved by a test). Any thread.
  void nudge();
  // Stops claiming and ticking, lets running jobs finish until the deadline (now + drain_grace
  // for the first form), hands the others back (fail, retry in 0, "drained"), then stops.
  // Blocks the caller until done. Any thread but the runner's.
  void drain();
  void drain(std::chrono::steady_clock::time_point deadline);
  // Stops at once: running jobs are abandoned (their leases run out). Idempotent. False when a
  // handler did not end within the stop grace and the loop had to be forced down.
  bool stop();

 private:
  class Loop;  // the runner thread's state and coroutines (runner.cpp)

  JobsConfig config_;
  state::JobQueueProvider& queues_;
  state::StoreProvider& data_;
  core::Clock const& clock_;
  std::string instance_;
  JobMetrics& metrics_;
  std::map<std::string, std::unique_ptr<JobHandler>> handlers_;
  std::map<std::string, std::unique_ptr<TaskHandler>> tasks_;
  Observer observer_;

  std::mutex mutex_;  // guards loop_ against nudge() from other threads while it is made or stopped
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace outboard::jobs
