#pragma once
// Reading numbers out of a Prometheus text page (a server's or the gateway's /metrics), as the
// lab needs them: one unlabelled series, or the sum of a family over its labels. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outboard::lab {

// The value of the line "<series> <value>"; nullopt without one. `series` may carry its labels
// (`outboard_idempotency_requests_total{outcome="replayed"}`), written as the page writes them.
std::optional<std::int64_t> series_value(std::string_view page, std::string_view series);

// The sum of a family's samples: the unlabelled one and every labelled one
// (`outboard_jobs_in_flight{type="receipt"} 1`); 0 without any. A family whose name merely
// begins with this one's (`..._in_flight_max`) is not counted.
std::int64_t family_sum(std::string_view page, std::string_view family);

}  // namespace outboard::lab
