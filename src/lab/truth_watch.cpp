#include "lab/truth_watch.hpp"

#include <algorithm>

#include "lab/metrics_text.hpp"

namespace outboard::lab {

bool revisions_differ(std::vector<std::optional<std::string>> const& pages) {
  std::optional<std::int64_t> seen;
  for (auto const& page : pages) {
    if (!page) continue;
    auto revision = series_value(*page, kRevisionSeries);
    if (!revision) continue;
    if (seen && *seen != *revision) return true;
    seen = revision;
  }
  return false;
}

namespace {

bool gone_during(std::vector<Absence> const& absences, std::string const& address, std::int64_t from_ms,
                 std::int64_t to_ms) {
  return std::any_of(absences.begin(), absences.end(), [&](Absence const& a) {
    return a.address == address && to_ms > a.from_ms && (!a.until_ms || from_ms < *a.until_ms);
  });
}

}  // namespace

std::int64_t routed_to_gone(TruthWatch const& watch, std::vector<Absence> const& absences) {
  std::int64_t total = 0;
  for (auto const& per_backend : watch.failures) {
    for (auto const& entry : per_backend) {
      auto const& series = entry.second;
      for (std::size_t i = 1; i < series.size(); ++i) {
        CounterSample before = series[i - 1];
        CounterSample now = series[i];
        std::int64_t grew = now.value >= before.value ? now.value - before.value : now.value;
        if (grew > 0 && gone_during(absences, entry.first, before.t_ms, now.t_ms)) total += grew;
      }
    }
  }
  return total;
}

}  // namespace outboard::lab
