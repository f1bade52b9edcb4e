#pragma once
// The jobs workload's tick ledger (docs/LAB.md, "The jobs workload"): what `outboard jobs ticks
// --task sales-summary --json` says ran, one entry per run of a tick, held against the instants
// that should each have run exactly once. Pure functions over that JSON.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace outboard::lab {

struct TickRun {
  std::int64_t instant_ms = 0;
  std::int64_t fence = 0;
};

// The runs of `{"task": ..., "runs": [{"instant_ms", "instance", "fence", "at_ms"}, ...]}`, in the
// log's order (the order of the commits); nullopt when the document is not that shape.
std::optional<std::vector<TickRun>> read_tick_runs(nlohmann::json const& doc);

// The instants a run is judged on, both ends included, every `period_ms` since the epoch: from
// the first instant after the cluster was ready plus one period (a server's first tick may be
// skipped as it starts), to the last instant before the stop minus the lease (a tick claimed
// just before the stop may be taken over after it). first > last when the run was too short.
struct TickWindow {
  std::int64_t first_ms = 0;
  std::int64_t last_ms = -1;
  std::int64_t period_ms = 1000;
};
TickWindow tick_window(std::int64_t ready_ms, std::int64_t stop_ms, std::int64_t period_ms, std::int64_t lease_ms);

struct TickCounts {
  std::int64_t instants = 0;      // instants in the window
  std::int64_t runs = 0;          // runs of those instants
  std::int64_t missed = 0;        // instants with no run
  std::int64_t run_twice = 0;     // runs beyond the first of an instant
  std::int64_t stale_writes = 0;  // runs written after a run of the same instant with a higher fence
};

// Runs outside the window are ignored.
TickCounts count_ticks(std::vector<TickRun> const& runs, TickWindow const& window);

}  // namespace outboard::lab
