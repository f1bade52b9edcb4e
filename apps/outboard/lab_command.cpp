// `outboard lab`: a cluster on loopback, virtual users on real journeys, faults on a schedule,
// and the verdict on what each design lost. Wiring and input checks only; the lab is src/lab.
#include "lab_command.hpp"

#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "lab/html_report.hpp"
#include "lab/lab_runner.hpp"
#include "lab/scenario.hpp"
#include "lab/summary.hpp"

namespace outboard::app {
namespace {

struct LabFlags {
  std::string scenario = "crash-and-deploy";
  std::vector<std::string> modes{"stateful", "sticky", "stateless", "retry-unsafe"};
  int servers = 3;
  int users = 200;
  double duration_s = 15;
  double arrival_rate = 0;
  std::string store = "sqlite";
  std::string report_dir;
  std::string json_file;
  std::uint64_t seed = 1;
  int think_min_ms = 100;
  int think_max_ms = 500;
  std::string work_dir;
  bool keep_work = false;
};

// Bad input is a clear message before anything starts.
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void list_scenarios() {
  std::cout << "built-in scenarios (or give a path to a .toml file; docs/LAB.md shows the format):\n";
  for (auto const& s : lab::builtin_scenarios()) {
    std::cout << "  " << s.name << std::string(s.name.size() < 18 ? 18 - s.name.size() : 1, ' ') << s.description
              << "\n";
  }
}

void choose_store(std::string const& store, lab::LabSettings& out) {
  if (store == "sqlite") {
    out.store = lab::StoreKind::sqlite;
  } else if (store == "redis") {
    out.store = lab::StoreKind::private_redis;
  } else if (store.starts_with("redis://")) {
    out.store = lab::StoreKind::external_redis;
    out.external_redis_url = store;
  } else {
    throw BadInput("--store '" + store +
                   "': expected sqlite (embedded, the default), redis (a private redis-server the lab starts) "
                   "or redis://HOST:PORT/DB (one you run)");
  }
}

// The outputs are checked before the run, not after a minute of it.
void check_outputs_writable(LabFlags const& f) {
  if (!f.json_file.empty()) {
    std::ofstream probe(f.json_file, std::ios::app);
    if (!probe) throw BadInput("--json " + f.json_file + ": cannot write there");
  }
  if (!f.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(f.report_dir, ec);
    auto probe_path = std::filesystem::path(f.report_dir) / ".outboard-lab-write-test";
    bool ok = !ec && static_cast<bool>(std::ofstream(probe_path));
    std::filesystem::remove(probe_path, ec);
    if (!ok) throw BadInput("--report " + f.report_dir + ": cannot write into that directory");
  }
}

lab::LabSettings settings_from(LabFlags const& f) {
  lab::LabSettings s;
  if (f.servers < 1) throw BadInput("--servers " + std::to_string(f.servers) + ": at least 1 server is needed");
  if (f.servers > 64) throw BadInput("--servers " + std::to_string(f.servers) + ": at most 64 on one machine");
  if (f.users < 1) throw BadInput("--users " + std::to_string(f.users) + ": at least 1 user is needed");
  if (f.users > 100'000) throw BadInput("--users " + std::to_string(f.users) + ": at most 100000");
  if (!(f.duration_s >= 1 && f.duration_s <= 3600)) {
    throw BadInput("--duration " + std::to_string(f.duration_s) + ": between 1 and 3600 seconds");
  }
  if (!(f.arrival_rate >= 0 && f.arrival_rate <= 100'000)) {
    throw BadInput("--arrival-rate: between 0 (closed loop) and 100000 journeys per second");
  }
  if (f.think_min_ms < 0 || f.think_max_ms < f.think_min_ms || f.think_max_ms > 60'000) {
    throw BadInput("--think-ms: need 0 <= min <= max <= 60000");
  }
  std::set<std::string> seen;
  for (auto const& name : f.modes) {
    auto mode = lab::find_mode(name);
    if (!mode) throw BadInput("--modes: unknown mode '" + name + "'; known: " + lab::mode_names());
    if (!seen.insert(name).second) throw BadInput("--modes: '" + name + "' is given twice");
    s.modes.push_back(*mode);
  }
  if (s.modes.empty()) throw BadInput("--modes: name at least one of " + lab::mode_names());
  choose_store(f.store, s);
  s.scenario = lab::find_scenario(f.scenario);
  s.servers = f.servers;
  s.users = f.users;
  s.duration_ms = static_cast<std::int64_t>(f.duration_s * 1000);
  s.arrival_rate = f.arrival_rate;
  s.seed = f.seed;
  s.think_min = std::chrono::milliseconds(f.think_min_ms);
  s.think_max = std::chrono::milliseconds(f.think_max_ms);
  s.work_root = f.work_dir;
  s.keep_work = f.keep_work || !f.work_dir.empty();
  lab::check_scenario_fits(s.scenario, s.servers, s.duration_ms, s.store == lab::StoreKind::private_redis);
  check_outputs_writable(f);
  s.outboard_binary = std::filesystem::read_symlink("/proc/self/exe");
  s.live_progress = isatty(STDOUT_FILENO) != 0;
  return s;
}

void write_json(std::string const& path, nlohmann::json const& results) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << results.dump(2) << "\n";
  if (!out) throw std::runtime_error("cannot write --json file " + path);
}

// Thousands of virtual users hold thousands of connections, and the gateway (a child, which
// inherits the limit) as many again: take the whole allowance the system gives.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_lab_command(LabFlags const& flags) {
  if (flags.scenario == "list") {
    list_scenarios();
    return 0;
  }
  lab::LabSettings settings;
  try {
    settings = settings_from(flags);
  } catch (BadInput const& e) {
    std::cerr << "outboard lab: " << e.what() << "\n";
    return 2;
  } catch (lab::ScenarioError const& e) {
    std::cerr << "outboard lab: " << e.what() << "\n";
    return 2;
  }
  raise_open_file_limit();
  nlohmann::json results;
  try {
    results = lab::run_lab(settings, std::cout);
  } catch (lab::Interrupted const& e) {
    std::cout << "\n";
    std::cerr << "outboard lab: " << e.what() << "\n";
    return 130;
  } catch (lab::ClusterError const& e) {
    std::cerr << "outboard lab: the cluster could not run: " << e.what() << "\n";
    return 1;
  }
  std::cout << lab::render_table(results) << std::flush;
  if (!flags.json_file.empty()) {
    write_json(flags.json_file, results);
    std::cout << "results: " << flags.json_file << "\n";
  }
  if (!flags.report_dir.empty()) {
    auto page = lab::write_html_report(flags.report_dir, results);
    std::cout << "report: " << page.string() << "\n";
  }
  return 0;
}

}  // namespace

std::function<int()> add_lab_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "lab", "start a cluster on loopback, drive virtual users through it, inject faults, and report what each "
             "design lost");
  auto flags = std::make_shared<LabFlags>();
  cmd->add_option("--scenario", flags->scenario, "a built-in scenario, a .toml file, or 'list'")
      ->capture_default_str();
  cmd->add_option("--modes", flags->modes, "designs to compare, comma-separated (" + lab::mode_names() + ")")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--servers", flags->servers, "outboard serve processes behind the gateway")->capture_default_str();
  cmd->add_option("--users", flags->users, "virtual users (open loop: the most at once)")->capture_default_str();
  cmd->add_option("--duration", flags->duration_s, "seconds of load per mode")->capture_default_str();
  cmd->add_option("--arrival-rate", flags->arrival_rate,
                  "open loop: new users per second, each doing one journey (0: closed loop)")
      ->capture_default_str();
  cmd->add_option("--store", flags->store, "sqlite, redis (a private redis-server), or redis://HOST:PORT/DB")
      ->capture_default_str();
  cmd->add_option("--report", flags->report_dir, "write a self-contained HTML report into this directory");
  cmd->add_option("--json", flags->json_file, "write the results as JSON to this file");
  cmd->add_option("--seed", flags->seed, "seeds the users' choices and random fault targets")->capture_default_str();
  cmd->add_option("--think-min-ms", flags->think_min_ms, "a user's shortest pause between steps")
      ->capture_default_str();
  cmd->add_option("--think-max-ms", flags->think_max_ms, "a user's longest pause between steps")
      ->capture_default_str();
  cmd->add_option("--work-dir", flags->work_dir, "keep configs, logs and data here (default: a temp dir, removed)");
  cmd->add_flag("--keep-work", flags->keep_work, "keep the temp work directory and say where it is");
  return [cmd, flags]() -> int {
    if (!cmd->parsed()) return 0;
    return run_lab_command(*flags);
  };
}

}  // namespace outboard::app
