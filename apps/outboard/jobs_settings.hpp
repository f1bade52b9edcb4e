#pragma once
// serve's `[jobs]` and `[[schedule]]` settings (docs/JOBS.md). The declarations and their checks
// live in src/jobs/settings.* (so jobs_tests read config text through them); serve uses these names.
#include <optional>

#include "jobs/settings.hpp"

namespace outboard::app {

using jobs::JobsSettings;

// [jobs] keys (enabled, queue, fencing, lease_ms, renew_ms, poll_interval_ms, max_attempts,
// backoff_base_ms, backoff_max_ms, concurrency (a table type -> n), default_concurrency,
// drain_grace_ms) and [[schedule]] tables (task, every | cron, missed).
void declare_jobs(core::Settings& settings, JobsSettings& values);
// nullopt when jobs.enabled is false. Throws core::ConfigError naming file, line and key for a
// malformed schedule (checked even when disabled). Unknown task names are checked once the tasks
// are known: jobs::check_tasks(config, names).
std::optional<jobs::JobsConfig> to_jobs_config(JobsSettings const& values);

}  // namespace outboard::app
