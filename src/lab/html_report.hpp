#pragma once
// The --report page: one self-contained HTML file per run (inline CSS, inline JavaScript that
// draws the charts on <canvas>, the results embedded as JSON), readable offline, no network.
// The table's rows carry their meaning as tooltips and the invariants have a glossary (both from
// summary.hpp's table_sections); the charts draw each second as a step, share one y-axis per kind
// across the modes, and number the faults in rows that never overlap (the list below them has
// the same numbers).
//
// It reads the same document `--json` writes (results_json.hpp). The shape it relies on:
//
// {
//   "outboard_lab": 1,
//   "started_at": "2026-11-23T10:00:00Z",
//   "scenario": {"name": "crash-and-deploy", "description": "..."},
//   "settings": {"servers": 3, "users": 200, "duration_s": 20, "store": "sqlite", "seed": 1,
//                "arrival": "closed" | "open", "rate_per_s": 0},
//   "modes": [{
//     "mode": "stateless", "description": "sessions and data in the shared store, round robin",
//     "verdict": {"ok": true, "text": "lost nothing"},
//     "invariants": {"unexpected_logouts": 0, "lost_cart_lines": 0, "duplicated_cart_lines": 0,
//                    "duplicate_orders": 0, "lost_orders": 0, "upload_mismatches": 0,
//                    "failed_retryable": 0, ..., "chat_lost": 0, "chat_duplicated": 0,
//                    "chat_out_of_order": 0},
//     "chat": {"sent": 0, "expected": 0, "delivered": 0, "history_truncated": 0, "reconnects": 0,
//              "latency_p99_ms": 0.0, ...},                  // the chat journey (docs/LAB.md)
//     "failures": {"connect": 0, "server_5xx": 0, "timeout": 0, "total": 0},   // per attempt
//     "journeys": {"completed": 0, "abandoned": 0},
//     "requests": {"total": 0, "retries": 0, "per_second": 0.0},
//     "latency_ms": {"p50": 0.0, "p99": 0.0, "max": 0.0},
//     "served_by": {"s1": 0, "s2": 0},                      // responses per server instance
//     "load": {"imbalance": 1.0, "peak_imbalance": 1.0},     // busiest server's share x servers
//     "timeline": [{"t": 0, "requests": 0, "errors": 0, "logouts": 0, "p99_ms": 0.0}],  // 1/s
//     "faults": [{"t_ms": 4000, "kind": "kill", "detail": "kill -9 s2 (pid 1234)"}]
//   }]
// }
//
// Unknown extra fields are ignored, so results can grow without breaking old pages.
#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <string>

namespace outboard::lab {

// The whole page for one run.
std::string render_html_report(nlohmann::json const& results);

// Writes DIR/<started_at with ':' as '-'>-<scenario>.html (creating DIR) and returns its path.
// Throws std::runtime_error naming the path when it cannot be written.
std::filesystem::path write_html_report(std::filesystem::path const& dir, nlohmann::json const& results);

}  // namespace outboard::lab
