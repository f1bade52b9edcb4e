#pragma once
// Retry delays: exponential with full jitter (AWS's "Exponential Backoff and Jitter"): attempt n
// waits a uniformly random time in [0, min(max, base * 2^(n-1))], so the retries of many jobs that
// failed together (a store restart) spread out instead of returning in waves.
#include <algorithm>
#include <cstdint>
#include <random>

#include "core/clock.hpp"

namespace outboard::jobs {

// The ceiling for attempt n (1 = the first attempt failed): base * 2^(n-1), at most max.
inline core::Millis backoff_ceiling(int attempt, core::Millis base, core::Millis max) {
  if (base.count() <= 0 || max.count() <= 0) return core::Millis(0);
  std::int64_t ceiling = base.count();
  for (int i = 1; i < attempt && ceiling < max.count(); ++i) ceiling *= 2;
  return core::Millis(std::min(ceiling, max.count()));
}

// A delay in [0, backoff_ceiling(attempt, base, max)], drawn from `random` (the caller's own
// generator: nothing here is global).
template <class Generator>
core::Millis backoff_delay(int attempt, core::Millis base, core::Millis max, Generator& random) {
  std::uniform_int_distribution<std::int64_t> pick(0, backoff_ceiling(attempt, base, max).count());
  return core::Millis(pick(random));
}

}  // namespace outboard::jobs
