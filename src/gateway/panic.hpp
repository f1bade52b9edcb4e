#pragma once
// Panic mode, as Envoy's panic threshold: when the share of backends that may take traffic falls
// below health.panic_threshold_percent, the failing checks are more likely the checks' fault (a
// shared store is down and every server's /readyz says so) than every server's, and balancing over
// the few left would crush them (or, with none left, refuse everything). So in panic every backend
// that is not draining takes traffic again, whatever its health or ejection says. Draining is an
// operator's decision and is always honoured.
#include <cstddef>

namespace outboard::gateway {

// `available`: backends up, not ejected, not draining; `eligible`: backends not draining.
// threshold_percent 0 turns panic off; with nothing eligible there is nothing to panic over.
constexpr bool in_panic(std::size_t available, std::size_t eligible, int threshold_percent) {
  if (threshold_percent <= 0 || eligible == 0) return false;
  return available * 100 < eligible * static_cast<std::size_t>(threshold_percent);
}

}  // namespace outboard::gateway
