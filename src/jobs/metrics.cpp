#include "jobs/metrics.hpp"

namespace outboard::jobs {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void header(std::string& out, char const* name, char const* type, char const* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, char const* name, char const* label, std::string const& value_of_label,
            std::string const& value) {
  out += name;
  if (label) {
    out += '{';
    out += label;
    out += "=\"";
    out += value_of_label;  // [a-z0-9_-]: nothing to escape
    out += "\"}";
  }
  out += ' ';
  out += value;
  out += '\n';
}

// One family with a sample per type (or task); nothing when there is none.
template <class Series, class Read>
void family(std::string& out, Series const& series, char const* name, char const* type, char const* label,
            char const* help, Read read) {
  if (series.empty()) return;
  header(out, name, type, help);
  for (auto const& [key, counters] : series) sample(out, name, label, key, std::to_string(read(*counters)));
}

}  // namespace

JobMetrics::Type& JobMetrics::type(std::string const& name) {
  for (auto& [n, t] : types_) {
    if (n == name) return *t;
  }
  return *types_.emplace_back(name, std::make_unique<Type>()).second;
}

JobMetrics::Task& JobMetrics::task(std::string const& name) {
  for (auto& [n, t] : tasks_) {
    if (n == name) return *t;
  }
  return *tasks_.emplace_back(name, std::make_unique<Task>()).second;
}

void JobMetrics::set_queue_counts(state::JobCounts const& counts) {
  queue_samples_.fetch_add(1, kRelaxed);
  ready_.store(counts.ready, kRelaxed);
  delayed_.store(counts.delayed, kRelaxed);
  running_.store(counts.running, kRelaxed);
  dead_.store(counts.dead, kRelaxed);
}

void JobMetrics::render(std::string& out) const {
  using T = Type const&;
  family(out, types_, "outboard_jobs_in_flight", "gauge", "type", "Jobs whose handler this process is running now (past the check that their effect is not done yet).",
         [](T t) { return t.in_flight.load(kRelaxed); });
  family(out, types_, "outboard_jobs_claimed_total", "counter", "type", "Claims taken by this process.",
         [](T t) { return t.claimed.load(kRelaxed); });
  family(out, types_, "outboard_jobs_completed_total", "counter", "type", "Jobs this process completed.",
         [](T t) { return t.completed.load(kRelaxed); });
  family(out, types_, "outboard_jobs_retries_total", "counter", "type",
         "Failed attempts given back to the queue for a later retry.", [](T t) { return t.retries.load(kRelaxed); });
  family(out, types_, "outboard_jobs_dead_letters_total", "counter", "type",
         "Jobs this process sent to the dead-letter list (unusable payload, or attempts exhausted).",
         [](T t) { return t.dead_letters.load(kRelaxed); });
  family(out, types_, "outboard_jobs_lease_losses_total", "counter", "type",
         "Claims whose lease was found lost (a refused renew or completion).",
         [](T t) { return t.lease_losses.load(kRelaxed); });
  family(out, types_, "outboard_jobs_fenced_writes_refused_total", "counter", "type",
         "Commits refused because another claim holds the job's fence (a stale lease).",
         [](T t) { return t.fenced_writes_refused.load(kRelaxed); });
  using K = Task const&;
  family(out, tasks_, "outboard_jobs_ticks_enqueued_total", "counter", "task",
         "Tick jobs this process enqueued (every instance enqueues each tick; the key makes it one job).",
         [](K t) { return t.ticks_enqueued.load(kRelaxed); });
  family(out, tasks_, "outboard_jobs_ticks_run_total", "counter", "task", "Ticks whose work this process committed.",
         [](K t) { return t.ticks_run.load(kRelaxed); });
  family(out, tasks_, "outboard_jobs_ticks_skipped_total", "counter", "task",
         "Ticks found missed (late by more than a period) and not run, by the `skip` policy.",
         [](K t) { return t.ticks_skipped.load(kRelaxed); });
  header(out, "outboard_jobs_ready", "gauge", "Jobs waiting and claimable now (sampled once a second).");
  sample(out, "outboard_jobs_ready", nullptr, {}, std::to_string(ready_.load(kRelaxed)));
  header(out, "outboard_jobs_delayed", "gauge", "Jobs waiting for their run time (a delay or a retry's backoff).");
  sample(out, "outboard_jobs_delayed", nullptr, {}, std::to_string(delayed_.load(kRelaxed)));
  header(out, "outboard_jobs_running", "gauge", "Jobs claimed by some worker, in any instance.");
  sample(out, "outboard_jobs_running", nullptr, {}, std::to_string(running_.load(kRelaxed)));
  header(out, "outboard_jobs_dead", "gauge", "Jobs on the dead-letter list.");
  sample(out, "outboard_jobs_dead", nullptr, {}, std::to_string(dead_.load(kRelaxed)));
  header(out, "outboard_jobs_runner_bugs_total", "counter", "Runner coroutines that ended with an exception.");
  sample(out, "outboard_jobs_runner_bugs_total", nullptr, {}, std::to_string(bugs_.load(kRelaxed)));
}

}  // namespace outboard::jobs
