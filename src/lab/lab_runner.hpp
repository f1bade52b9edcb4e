#pragma once
// Runs the lab: for each mode, a fresh cluster, the virtual users, the scenario's faults on
// schedule, an audit of every user's ledger, then teardown; and at the end the side-by-side
// verdict. Everything happens on one event loop on the calling (main) thread, which is also
// the thread that forks the cluster's processes (see child_process.hpp).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "lab/cluster.hpp"
#include "lab/modes.hpp"
#include "lab/scenario.hpp"

namespace outboard::lab {

struct LabSettings {
  Scenario scenario;
  std::vector<ModeSpec> modes;
  int servers = 3;
  int gateways = 1;                // --gateways: gateway processes; users spread round robin (1..8)
  bool registry = false;           // --registry etcd: a 3-member etcd is the truth (cluster.hpp)
  int users = 200;                 // closed loop: the users; open loop: the most at once
  std::int64_t duration_ms = 15'000;  // per mode
  // > 0: the run also lasts until this many journeys have ended (completed or abandoned), for
  // at most kMinJourneysGraceMs more, so a short run proves something on a slow machine too.
  std::int64_t min_journeys = 0;
  double arrival_rate = 0;         // > 0: open loop, this many new users (journeys) per second
  StoreKind store = StoreKind::sqlite;
  std::string external_redis_url;
  bool postgres_data = false;      // --data postgres: records in a PostgreSQL the lab starts
  int near_cache_entries = 0;      // > 0: the servers' redis near-cache (docs/STATE.md)
  int access_token_s = 5;          // the jwt design's access-token lifetime: short, so users refresh in a run
  std::uint64_t seed = 1;
  std::chrono::milliseconds think_min{100};
  std::chrono::milliseconds think_max{500};
  std::filesystem::path outboard_binary;
  // The program and leading arguments that run a server, before "serve ..."; empty: the
  // outboard binary. Tests put a test-only server with a known defect here.
  std::vector<std::string> server_command;
  std::filesystem::path work_root;  // empty: a new directory under the system temp dir
  bool keep_work = false;
  bool live_progress = false;       // a one-line display redrawn in place (a terminal)
};

// Why a lab stopped early (Ctrl-C, SIGTERM).
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs every mode and returns the results document (html_report.hpp describes it). Progress
// goes to `out`. Throws ClusterError when a cluster cannot start, Interrupted on a signal.
nlohmann::json run_lab(LabSettings const& settings, std::ostream& out);

}  // namespace outboard::lab
