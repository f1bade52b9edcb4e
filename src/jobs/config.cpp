#include "jobs/config.hpp"

#include <algorithm>

namespace outboard::jobs {

int JobsConfig::concurrency_of(std::string const& type) const {
  auto it = concurrency.find(type);
  return it == concurrency.end() ? default_concurrency : it->second;
}

namespace {

core::TableItem::Value const* value_of(core::TableItem const& item, std::string const& key) {
  auto it = item.values.find(key);
  return it == item.values.end() ? nullptr : &it->second;
}

bool valid_task_name(std::string const& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

ScheduleEntry schedule_from(core::TableItem const& item) {
  ScheduleEntry entry;
  entry.where = item.where;
  auto const* task = value_of(item, "task");
  if (!task) throw core::ConfigError(item.where + ": a schedule needs a task");
  if (!valid_task_name(task->text)) {
    throw core::ConfigError(task->where + ": '" + task->text + "' is not a task name ([a-z0-9_-], 1..64 bytes)");
  }
  entry.task = task->text;
  entry.task_where = task->where;

  auto const* every = value_of(item, "every");
  auto const* cron = value_of(item, "cron");
  if (every && cron) throw core::ConfigError(cron->where + ": a schedule has `every` or `cron`, not both");
  if (!every && !cron) throw core::ConfigError(item.where + ": a schedule needs `every` (\"30s\") or `cron` (\"*/5 * * * *\")");
  if (every) {
    auto period = parse_every(every->text);
    if (!period) throw core::ConfigError(every->where + ": " + period.error().context);
    entry.every = every->text;
    entry.timing = Every{*period};
  } else {
    auto expr = parse_cron(cron->text);
    if (!expr) throw core::ConfigError(cron->where + ": " + expr.error().context);
    entry.cron = cron->text;
    entry.timing = *expr;
  }

  if (auto const* missed = value_of(item, "missed")) {
    if (missed->text == "skip") {
      entry.missed = Missed::skip;
    } else if (missed->text == "catch-up") {
      entry.missed = Missed::catch_up;
    } else {
      throw core::ConfigError(missed->where + ": '" + missed->text + "' is not skip or catch-up");
    }
  }
  return entry;
}

std::vector<ScheduleEntry> schedules_from(std::vector<core::TableItem> const& items) {
  std::vector<ScheduleEntry> entries;
  for (auto const& item : items) {
    auto entry = schedule_from(item);
    for (auto const& earlier : entries) {
      if (earlier.task == entry.task) {
        throw core::ConfigError(entry.task_where + ": task '" + entry.task + "' is scheduled twice (first at " +
                                earlier.task_where + ")");
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

void check_tasks(JobsConfig const& config, std::vector<std::string> const& known) {
  for (auto const& entry : config.schedules) {
    if (std::find(known.begin(), known.end(), entry.task) != known.end()) continue;
    std::string names;
    for (auto const& name : known) names += (names.empty() ? "" : ", ") + name;
    throw core::ConfigError(entry.task_where + ": unknown task '" + entry.task + "' (known: " +
                            (names.empty() ? "none" : names) + ")");
  }
}

}  // namespace outboard::jobs
