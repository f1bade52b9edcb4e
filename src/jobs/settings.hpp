#pragma once
// serve's `[jobs]` keys and `[[schedule]]` tables, declared on a core::Settings and turned into a
// JobsConfig. Here rather than in apps/outboard (which forwards to it, like realtime_settings) so
// that the jobs tests read real config text through the real declarations.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "jobs/config.hpp"

namespace outboard::jobs {

struct JobsSettings {
  bool enabled = true;
  std::string queue = "store";
  bool fencing = true;
  std::int64_t lease_ms = 5000;
  std::int64_t renew_ms = 0;  // 0: lease / 3
  std::int64_t poll_interval_ms = 100;
  std::int64_t max_attempts = 5;
  std::int64_t backoff_base_ms = 200;
  std::int64_t backoff_max_ms = 30'000;
  std::map<std::string, std::int64_t> concurrency;
  std::int64_t default_concurrency = 2;
  std::int64_t drain_grace_ms = 5000;
  std::vector<core::TableItem> schedules;
};

void declare_jobs(core::Settings& settings, JobsSettings& values);

// Throws core::ConfigError: a malformed schedule names its file, line and key; values that do not
// fit together (renew not below the lease, base above max) name their keys.
JobsConfig to_jobs_config(JobsSettings const& values);

}  // namespace outboard::jobs
