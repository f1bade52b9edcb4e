#pragma once
// When a scheduled task ticks: `every` (a fixed interval, ticking at its multiples since the
// epoch, so every instance computes the same instants) or a cron expression (jobs/cron.hpp).
// Instants are ms since the epoch, UTC, from the system clock: instances agree on them without
// talking, and the tick of an instant is one job for all of them (docs/JOBS.md).
//
// Pure functions on plain values.
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "jobs/cron.hpp"

namespace outboard::jobs {

struct Every {
  core::Millis period{0};
  friend bool operator==(Every const&, Every const&) = default;
};

using Timing = std::variant<Every, CronExpr>;

// "500ms", "30s", "5m", "1h", "1d": a positive integer and one unit, at most 366 days.
// Errc::invalid with the reason otherwise (zero, negative, no unit, unknown unit, too long).
core::Result<core::Millis> parse_every(std::string_view text);

// The first instant strictly after from_ms (nullopt: none before year 10000).
std::optional<std::int64_t> next_instant(Timing const& timing, std::int64_t from_ms);
// The last instant at or before at_ms (nullopt: none since 1970).
std::optional<std::int64_t> last_instant(Timing const& timing, std::int64_t at_ms);

// The instants in (after_ms, now_ms]: the latest is `current` (late by less than a period: it is
// run); the ones before it are `missed` (late by more than a period), `latest_missed` the newest.
struct Due {
  std::optional<std::int64_t> current;
  std::int64_t missed = 0;  // capped at kMissedCountCap (cron instants are counted one by one)
  std::optional<std::int64_t> latest_missed;
};
inline constexpr std::int64_t kMissedCountCap = 10'000;
Due due_between(Timing const& timing, std::int64_t after_ms, std::int64_t now_ms);

}  // namespace outboard::jobs
