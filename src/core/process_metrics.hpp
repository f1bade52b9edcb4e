#pragma once
// The metrics every outboard process exports whatever it does, in Prometheus text format with
// the names client libraries use, so standard dashboards work unchanged:
//   outboard_build_info{version, command} 1
//   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
//   process_open_fds, process_max_fds, process_start_time_seconds
// Read from /proc/self at scrape time: nothing is kept between scrapes.
#include <string>
#include <string_view>

namespace outboard::core {

// Appends the families above, each with HELP and TYPE. `command` is "serve", "gateway", ...
// A /proc file that cannot be read leaves its family out rather than reporting a made-up 0.
void render_process_metrics(std::string& out, std::string_view command);

}  // namespace outboard::core
