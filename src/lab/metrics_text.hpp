#pragma once
// Reading numbers out of a Prometheus text page (a server's or the gateway's /metrics), as the
// lab needs them: one unlabelled series, or the sum of a family over its labels. Pure.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::lab {

// The value of the line "<series> <value>"; nullopt without one. `series` may carry its labels
// (`outboard_idempotency_requests_total{outcome="replayed"}`), written as the page writes them.
std::optional<std::int64_t> series_value(std::string_view page, std::string_view series);

// The sum of a family's samples: the unlabelled one and every labelled one
// (`outboard_jobs_in_flight{type="receipt"} 1`); 0 without any. A family whose name merely
// begins with this one's (`..._in_flight_max`) is not counted.
std::int64_t family_sum(std::string_view page, std::string_view family);

// A family's samples by the value of one label: `outboard_gateway_backend_failures_total
// {backend="127.0.0.1:8081"} 3` gives {"127.0.0.1:8081": 3}. Samples without that label are left out.
std::map<std::string, std::int64_t> values_by_label(std::string_view page, std::string_view family,
                                                    std::string_view label);

// A Prometheus histogram as a page renders it: cumulative counts per upper bound (`le`), the
// +Inf bucket last (its bound is infinity).
struct Histogram {
  std::vector<std::pair<double, std::uint64_t>> cumulative;
  std::uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back().second; }
};

// `<name>_bucket{le="..."}` lines of a page; nullopt when it has none.
std::optional<Histogram> read_histogram(std::string_view page, std::string_view name);

// The sum of two histograms with the same bounds (several gateways' views of one figure); with
// other bounds, `into` is left as it was and false is returned. An empty `into` takes `more`.
bool merge_histogram(Histogram& into, Histogram const& more);

// The upper bound of the bucket holding the q-quantile (0..1) of the samples, by nearest rank:
// what a histogram can say ("at most"). 0 for no samples; the largest finite bound when the rank
// falls in +Inf. q = 1 gives the bound of the highest bucket that holds a sample.
double histogram_bound(Histogram const& h, double q);

}  // namespace outboard::lab
