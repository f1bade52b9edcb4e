#pragma once
// The job runner's Prometheus metrics. Relaxed atomics written by the runner's thread, read by
// whichever thread renders /metrics. The series (one per job type and per task) are laid out by
// Runner::add / add_task before the runner starts, never after, so a render never races a layout.
// The queue gauges are sampled by the runner once a second (JobQueue::counts()), not at scrape time.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "state/job_queue.hpp"

namespace outboard::jobs {

class JobMetrics {
 public:
  struct Type {
    std::atomic<std::int64_t> in_flight{0};
    std::atomic<std::uint64_t> claimed{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> dead_letters{0};
    std::atomic<std::uint64_t> lease_losses{0};
    std::atomic<std::uint64_t> fenced_writes_refused{0};
  };
  struct Task {
    std::atomic<std::uint64_t> ticks_enqueued{0};
    std::atomic<std::uint64_t> ticks_run{0};
    std::atomic<std::uint64_t> ticks_skipped{0};
  };

  // The series of a type / task, made on first call: layout time only (see above); later calls
  // for a name laid out only read.
  Type& type(std::string const& name);
  Task& task(std::string const& name);

  void set_queue_counts(state::JobCounts const& counts);
  // How many times the queue gauges were set (the runner samples them once a second).
  std::uint64_t queue_samples() const { return queue_samples_.load(std::memory_order_relaxed); }
  // Coroutines of the runner that ended with an exception (a bug): counted, and logged.
  void count_bug() { bugs_.fetch_add(1, std::memory_order_relaxed); }

  // Appends the Prometheus text of every family.
  void render(std::string& out) const;

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Type>>> types_;
  std::vector<std::pair<std::string, std::unique_ptr<Task>>> tasks_;
  std::atomic<std::int64_t> ready_{0}, delayed_{0}, running_{0}, dead_{0};
  std::atomic<std::uint64_t> bugs_{0};
  std::atomic<std::uint64_t> queue_samples_{0};
};

}  // namespace outboard::jobs
