#pragma once
// What `[jobs]` and `[[schedule]]` in serve's config set (docs/JOBS.md). serve declares the keys
// (apps/outboard/jobs_settings.*); the checks of a schedule live here, with the jobs code, and
// every error names the file, line and key the value came from.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "jobs/schedule.hpp"

namespace outboard::jobs {

enum class QueueKind {
  store,   // the data store's queue (sqlite://, redis://): shared by every instance
  memory,  // an in-process queue even when the store is shared: the anti-pattern the lab shows
};

enum class Missed {
  skip,      // ticks missed while no instance ran are counted, not run
  catch_up,  // ONE tick is run for the latest missed instant
};

struct ScheduleEntry {
  std::string task;
  std::string every;  // as written; one of every / cron is set
  std::string cron;
  Timing timing;
  Missed missed = Missed::skip;
  // Where the entry and its task came from ("serve.toml:13: key 'schedule[0].task'"), so a check
  // made once the tasks are registered can still name them.
  std::string where;
  std::string task_where;
};

struct JobsConfig {
  bool enabled = true;
  QueueKind queue = QueueKind::store;
  bool fencing = true;  // false: the `locked` design, a lease lock without fencing
  core::Millis lease{5000};
  core::Millis renew{0};          // 0: lease / 3
  core::Millis poll_interval{100};  // an idle worker looks again this often (and when nudged)
  int max_attempts = 5;
  core::Millis backoff_base{200};
  core::Millis backoff_max{30'000};
  std::map<std::string, int> concurrency;  // job type -> claims in flight at most, per process
  int default_concurrency = 2;
  core::Millis drain_grace{5000};
  // How long stop() waits for running handlers to end by themselves (store calls in flight must
  // come back before the runner's event loop goes) before it stops the thread anyway.
  core::Millis stop_grace{3000};
  std::vector<ScheduleEntry> schedules;

  core::Millis renew_interval() const { return renew.count() > 0 ? renew : lease / 3; }
  int concurrency_of(std::string const& type) const;
};

// One `[[schedule]]` table: task, every XOR cron, missed (skip | catch-up, default skip).
// Throws core::ConfigError naming the file, line and key of the first bad value.
ScheduleEntry schedule_from(core::TableItem const& item);
// Every table in order; a task scheduled twice is refused too (its ticks would share their keys).
std::vector<ScheduleEntry> schedules_from(std::vector<core::TableItem> const& items);

// Every scheduled task must be one the program registered; throws core::ConfigError naming the
// entry's file, line and key otherwise. `known` in any order.
void check_tasks(JobsConfig const& config, std::vector<std::string> const& known);

}  // namespace outboard::jobs
