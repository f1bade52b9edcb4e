#include "jobs/settings.hpp"

#include <algorithm>

namespace outboard::jobs {
namespace {

std::optional<std::string> check_queue(std::string const& queue) {
  if (queue == "store" || queue == "memory") return std::nullopt;
  return "'" + queue + "' is not store (the data store's queue) or memory (in this process only)";
}

std::optional<std::string> check_type_name(std::string const& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (ok) return std::nullopt;
  return "'" + name + "' is not a job type ([a-z0-9_-], 1..64 bytes)";
}

}  // namespace

void declare_jobs(core::Settings& s, JobsSettings& v) {
  s.add_bool("jobs.enabled", v.enabled, "", "run background jobs and scheduled tasks in this instance");
  s.add_string("jobs.queue", v.queue, "",
               "store: the data store's queue, shared by every instance; memory: this process only (the "
               "in-process anti-pattern: lost on a crash)",
               check_queue);
  s.add_bool("jobs.fencing", v.fencing, "",
             "true: a job's writes commit only under its latest claim's fencing token; false: trust the lease "
             "(the `locked` design, which lets a paused worker write after losing it)");
  s.add_int("jobs.lease_ms", v.lease_ms, 100, 3'600'000, "", "a claim's lease: a worker silent this long loses its job");
  s.add_int("jobs.renew_ms", v.renew_ms, 0, 3'600'000, "", "how often a running job's lease is renewed (0: lease / 3)");
  s.add_int("jobs.poll_interval_ms", v.poll_interval_ms, 1, 60'000, "",
            "how often an idle worker looks for jobs (it also wakes when its own process enqueues)");
  s.add_int("jobs.max_attempts", v.max_attempts, 1, 1000, "", "claims of a job before the dead-letter list");
  s.add_int("jobs.backoff_base_ms", v.backoff_base_ms, 1, 3'600'000, "",
            "the first retry waits up to this (exponential, full jitter)");
  s.add_int("jobs.backoff_max_ms", v.backoff_max_ms, 1, 86'400'000, "", "no retry waits longer");
  s.add_int_map("jobs.concurrency", v.concurrency, 1, 1024, "", "claims in flight per job type, per process",
                check_type_name);
  s.add_int("jobs.default_concurrency", v.default_concurrency, 1, 1024, "",
            "claims in flight per process for a type not in jobs.concurrency");
  s.add_int("jobs.drain_grace_ms", v.drain_grace_ms, 0, 600'000, "",
            "at shutdown, how long running jobs may finish before they are given back");
  s.add_table_list("schedule", v.schedules, {"task", "every", "cron", "missed"},
                   "[[schedule]] tables: task, every (\"30s\") or cron (\"*/5 * * * *\", UTC), missed (skip | "
                   "catch-up)");
}

JobsConfig to_jobs_config(JobsSettings const& v) {
  JobsConfig c;
  c.enabled = v.enabled;
  c.queue = v.queue == "memory" ? QueueKind::memory : QueueKind::store;
  c.fencing = v.fencing;
  c.lease = core::Millis(v.lease_ms);
  c.renew = core::Millis(v.renew_ms);
  if (c.renew_interval() >= c.lease) {
    throw core::ConfigError("jobs.renew_ms (" + std::to_string(v.renew_ms) + ") must be below jobs.lease_ms (" +
                            std::to_string(v.lease_ms) + "): a lease renewed after it ran out is lost");
  }
  c.poll_interval = core::Millis(v.poll_interval_ms);
  c.max_attempts = static_cast<int>(v.max_attempts);
  c.backoff_base = core::Millis(v.backoff_base_ms);
  c.backoff_max = core::Millis(v.backoff_max_ms);
  if (c.backoff_base > c.backoff_max) {
    throw core::ConfigError("jobs.backoff_base_ms (" + std::to_string(v.backoff_base_ms) +
                            ") must not be above jobs.backoff_max_ms (" + std::to_string(v.backoff_max_ms) + ")");
  }
  for (auto const& [type, n] : v.concurrency) c.concurrency[type] = static_cast<int>(n);
  c.default_concurrency = static_cast<int>(v.default_concurrency);
  c.drain_grace = core::Millis(v.drain_grace_ms);
  c.schedules = schedules_from(v.schedules);
  return c;
}

}  // namespace outboard::jobs
