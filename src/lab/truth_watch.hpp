#pragma once
// What the lab samples of several gateways while a run goes (`lab --gateways N --registry etcd`,
// docs/LAB.md), and the figures it draws from the samples. Pure: the sampling itself is the
// runner's (lab_runner.cpp, watch_truth).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/cluster.hpp"

namespace outboard::lab {

struct CounterSample {
  std::int64_t t_ms = 0;  // lab ms
  std::int64_t value = 0;
};

struct TruthWatch {
  std::int64_t samples = 0;
  std::int64_t disagreement_ms = 0;
  std::int64_t losses_in_disagreement = 0;
  // [gateway][backend address]: its outboard_gateway_backend_failures_total at each sample.
  std::vector<std::map<std::string, std::vector<CounterSample>>> failures;
};

inline constexpr std::string_view kRevisionSeries = "outboard_gateway_registry_revision";

// Whether the living gateways' revisions differ (nullopt: a gateway that did not answer; a page
// without the series is left out too).
bool revisions_differ(std::vector<std::optional<std::string>> const& pages);

// Tries the gateways sent to servers already gone: a backend's failures that grew between two
// samples while the lab had that server stopped at some moment of the stretch. A restarted
// gateway starts its counters at 0: a value below the one before is all growth.
std::int64_t routed_to_gone(TruthWatch const& watch, std::vector<Absence> const& absences);

}  // namespace outboard::lab
