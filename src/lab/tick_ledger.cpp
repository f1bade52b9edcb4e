#include "lab/tick_ledger.hpp"

#include <nlohmann/json.hpp>

#include <map>

#include "lab/receipt_ledger.hpp"

namespace outboard::lab {

using nlohmann::json;

std::optional<std::vector<TickRun>> read_tick_runs(json const& doc) {
  if (!doc.is_object()) return std::nullopt;
  auto runs = doc.find("runs");
  if (runs == doc.end() || !runs->is_array()) return std::nullopt;
  std::vector<TickRun> out;
  for (auto const& run : *runs) {
    if (!run.is_object()) return std::nullopt;
    auto instant = run.find("instant_ms");
    if (instant == run.end() || !instant->is_number_integer()) return std::nullopt;
    auto fence = run.find("fence");
    out.push_back({instant->get<std::int64_t>(),
                   fence != run.end() && fence->is_number_integer() ? fence->get<std::int64_t>() : 0});
  }
  return out;
}

namespace {

// The first multiple of `period` at or after `ms` (ms >= 0).
std::int64_t ceil_to(std::int64_t ms, std::int64_t period) { return (ms + period - 1) / period * period; }

}  // namespace

TickWindow tick_window(std::int64_t ready_ms, std::int64_t stop_ms, std::int64_t period_ms, std::int64_t lease_ms) {
  TickWindow window;
  window.period_ms = period_ms;
  window.first_ms = ceil_to(ready_ms, period_ms) + period_ms;
  std::int64_t last_end = stop_ms - lease_ms;
  window.last_ms = last_end < 0 ? -1 : last_end / period_ms * period_ms;
  if (window.last_ms == last_end) window.last_ms -= period_ms;  // "before": an instant at the bound is out
  return window;
}

TickCounts count_ticks(std::vector<TickRun> const& runs, TickWindow const& window) {
  TickCounts counts;
  // Per instant, the fences of its runs in commit order. Cost: O(runs log instants).
  std::map<std::int64_t, std::vector<std::int64_t>> by_instant;
  for (auto const& run : runs) {
    if (run.instant_ms < window.first_ms || run.instant_ms > window.last_ms) continue;
    by_instant[run.instant_ms].push_back(run.fence);
  }
  for (std::int64_t t = window.first_ms; t <= window.last_ms; t += window.period_ms) {
    ++counts.instants;
    auto it = by_instant.find(t);
    if (it == by_instant.end()) {
      ++counts.missed;
      continue;
    }
    auto const& fences = it->second;
    counts.runs += static_cast<std::int64_t>(fences.size());
    counts.run_twice += static_cast<std::int64_t>(fences.size()) - 1;
    counts.stale_writes += stale_writes(fences);
  }
  return counts;
}

}  // namespace outboard::lab
