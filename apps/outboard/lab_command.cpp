// `outboard lab`: a cluster on loopback, virtual users on real journeys, faults on a schedule,
// and the verdict on what each design lost. Wiring and input checks only; the lab is src/lab.
#include "lab_command.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "lab/expectations.hpp"
#include "lab/html_report.hpp"
#include "lab/lab_runner.hpp"
#include "lab/scenario.hpp"
#include "lab/summary.hpp"

namespace outboard::app {
namespace {

// The exit codes of `outboard lab` (docs/LAB.md and the --help footer say the same).
constexpr int kExitCompleted = 0;          // the run completed and every --expect was met
constexpr int kExitClusterFailed = 1;      // a cluster could not start or run
constexpr int kExitBadInput = 2;           // flags, environment or scenario refused; nothing started
constexpr int kExitExpectationFailed = 3;  // the run completed but a verdict was not the one expected
constexpr int kExitInterrupted = 130;      // Ctrl-C or SIGTERM

constexpr std::string_view kEnvPrefix = "OUTBOARD_LAB_";
// Writing the results document to standard output (`--json -`).
constexpr std::string_view kStdout = "-";

struct LabFlags {
  std::string scenario = "crash-and-deploy";
  std::vector<std::string> modes{"stateful", "sticky", "stateless", "retry-unsafe"};  // pubsub, jwt: named
  // --modes given (flag or environment): else a scenario's own `modes` replace the default above.
  bool modes_given = false;
  int servers = 3;
  int gateways = 1;
  std::string registry = "none";
  int users = 200;
  double duration_s = 15;
  double arrival_rate = 0;
  std::string store = "sqlite";
  std::string data;  // "" (the records in --store) or "postgres"
  std::string report_dir;
  std::string json_file;
  std::uint64_t seed = 1;
  int think_min_ms = 100;
  int think_max_ms = 500;
  int min_journeys = 0;
  int near_cache_entries = 0;
  int access_token_s = 5;
  std::string work_dir;
  bool keep_work = false;
  std::vector<std::string> expect;  // MODE=pass|fail
  bool check = false;
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
  } else if (store == "redis-cluster") {
    out.store = lab::StoreKind::private_redis_cluster;
  } else if (store.starts_with("redis://")) {
    out.store = lab::StoreKind::external_redis;
    out.external_redis_url = store;
  } else {
    throw BadInput("--store '" + store +
                   "': expected sqlite (embedded, the default), redis (a private redis-server the lab starts), "
                   "redis-cluster (a private 6-node Redis Cluster the lab starts) or redis://HOST:PORT/DB (one you run)");
  }
}

void choose_data(std::string const& data, lab::LabSettings& out) {
  if (data == "postgres") {
    out.postgres_data = true;
  } else if (!data.empty()) {
    throw BadInput("--data '" + data + "': expected postgres (a private PostgreSQL the lab starts for the records; "
                   "sessions stay in --store)");
  }
  // The lab's cluster design is the one issue 19 describes: sessions in the cluster, records in
  // PostgreSQL. (serve runs every record on a cluster too; the lab has no run of that shape yet.)
  if (out.store == lab::StoreKind::private_redis_cluster && !out.postgres_data) {
    throw BadInput("--store redis-cluster: the lab keeps only the sessions in the cluster; add --data postgres "
                   "(records in PostgreSQL)");
  }
}

// Why nothing can be written at PATH, or "" when it can; creates nothing (--check must not). A
// file needs its directory to exist; a report directory is created with its parents, so the
// nearest one that exists must be a writable directory.
std::string output_problem(std::filesystem::path const& path, bool is_directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (fs::is_directory(path, ec) != is_directory) return is_directory ? "not a directory" : "is a directory";
    return access(path.c_str(), W_OK) == 0 ? "" : "not writable";
  }
  fs::path ancestor = path.parent_path();
  if (ancestor.empty()) ancestor = ".";
  while (is_directory && !fs::exists(ancestor, ec) && ancestor.has_parent_path() && ancestor != ancestor.parent_path()) {
    ancestor = ancestor.parent_path();
  }
  if (!fs::is_directory(ancestor, ec)) return ancestor.string() + " is not a directory";
  return access(ancestor.c_str(), W_OK | X_OK) == 0 ? "" : ancestor.string() + " is not writable";
}

// The outputs are checked before the run, not after a minute of it.
void check_outputs_writable(LabFlags const& f) {
  if (!f.json_file.empty() && f.json_file != kStdout) {
    if (auto problem = output_problem(f.json_file, false); !problem.empty()) {
      throw BadInput("--json " + f.json_file + ": cannot write there (" + problem + ")");
    }
  }
  if (!f.report_dir.empty()) {
    if (auto problem = output_problem(f.report_dir, true); !problem.empty()) {
      throw BadInput("--report " + f.report_dir + ": cannot write into that directory (" + problem + ")");
    }
  }
}

lab::LabSettings settings_from(LabFlags const& f) {
  lab::LabSettings s;
  if (f.servers < 1) throw BadInput("--servers " + std::to_string(f.servers) + ": at least 1 server is needed");
  if (f.servers > 64) throw BadInput("--servers " + std::to_string(f.servers) + ": at most 64 on one machine");
  if (f.gateways < 1 || f.gateways > 8) {
    throw BadInput("--gateways " + std::to_string(f.gateways) + ": between 1 and 8 gateways");
  }
  if (f.registry != "none" && f.registry != "etcd") {
    throw BadInput("--registry '" + f.registry + "': expected none (the admin API) or etcd (a 3-member etcd on loopback)");
  }
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
  if (f.min_journeys < 0 || f.min_journeys > 1'000'000) {
    throw BadInput("--min-journeys " + std::to_string(f.min_journeys) + ": between 0 (off) and 1000000");
  }
  if (f.near_cache_entries < 0 || f.near_cache_entries > 10'000'000) {
    throw BadInput("--near-cache-entries " + std::to_string(f.near_cache_entries) + ": between 0 (off) and 10000000");
  }
  if (f.access_token_s < 1 || f.access_token_s > 3600) {
    throw BadInput("--access-token-s " + std::to_string(f.access_token_s) + ": between 1 and 3600 seconds");
  }
  if (f.near_cache_entries > 0 && (f.store == "sqlite" || f.store == "redis-cluster")) {
    throw BadInput("--near-cache-entries: the near-cache is single redis's; add --store redis or --store redis://...");
  }
  s.scenario = lab::find_scenario(f.scenario);
  std::vector<std::string> const& mode_list =
      f.modes_given || s.scenario.default_modes.empty() ? f.modes : s.scenario.default_modes;
  std::set<std::string> seen;
  for (auto const& name : mode_list) {
    auto mode = lab::find_mode(name);
    if (!mode) throw BadInput("--modes: unknown mode '" + name + "'; known: " + lab::mode_names());
    if (!seen.insert(name).second) throw BadInput("--modes: '" + name + "' is given twice");
    s.modes.push_back(*mode);
  }
  if (s.modes.empty()) throw BadInput("--modes: name at least one of " + lab::mode_names());
  choose_store(f.store, s);
  choose_data(f.data, s);
  s.servers = f.servers;
  s.gateways = f.gateways;
  s.registry = f.registry == "etcd";
  s.users = f.users;
  s.duration_ms = static_cast<std::int64_t>(f.duration_s * 1000);
  s.arrival_rate = f.arrival_rate;
  s.seed = f.seed;
  s.think_min = std::chrono::milliseconds(f.think_min_ms);
  s.think_max = std::chrono::milliseconds(f.think_max_ms);
  s.min_journeys = f.min_journeys;
  s.near_cache_entries = f.near_cache_entries;
  s.access_token_s = f.access_token_s;
  s.work_root = f.work_dir;
  s.keep_work = f.keep_work || !f.work_dir.empty();
  lab::check_scenario_fits(s.scenario, s.servers, s.duration_ms, s.store == lab::StoreKind::private_redis, s.gateways,
                           s.registry,
                           {.redis_cluster = s.store == lab::StoreKind::private_redis_cluster,
                            .postgres = s.postgres_data,
                            .external_redis = s.store == lab::StoreKind::external_redis});
  check_outputs_writable(f);
  s.outboard_binary = std::filesystem::read_symlink("/proc/self/exe");
  // With `--json -` standard output carries only the JSON, so progress and table go to stderr.
  s.live_progress = isatty(f.json_file == kStdout ? STDERR_FILENO : STDOUT_FILENO) != 0;
  return s;
}

void write_json(std::string const& path, nlohmann::json const& results) {
  if (path == kStdout) {
    std::cout << results.dump(2) << "\n" << std::flush;
    if (!std::cout) throw std::runtime_error("cannot write the results to standard output");
    return;
  }
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

// ---- where each setting came from (the environment, and --check) --------------------------------

// "--think-min-ms" -> "OUTBOARD_LAB_THINK_MIN_MS".
std::string env_name_of(CLI::Option const& option) {
  std::string name(kEnvPrefix);
  for (char c : option.get_single_name()) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

// The options that are settings: everything but --help, and --check (a stale
// OUTBOARD_LAB_CHECK would turn every CI run into a check that exits 0).
std::vector<CLI::Option*> setting_options(CLI::App& cmd) {
  std::vector<CLI::Option*> out;
  for (CLI::Option* option : cmd.get_options()) {
    if (option == cmd.get_help_ptr() || option->get_single_name() == "check") continue;
    out.push_back(option);
  }
  return out;
}

struct SettingSource {
  CLI::Option const* option;
  std::string source;  // "flag", "env OUTBOARD_LAB_USERS" or "default"
};

// Fills each setting not given as a flag from OUTBOARD_LAB_<FLAG> (a flag wins; an empty
// variable counts as unset), converting it exactly as the flag would be. Done here rather than
// with CLI11's envname() so that --check can say where each value came from. A value that does
// not convert is BadInput naming the variable.
std::vector<SettingSource> apply_environment(CLI::App& cmd) {
  std::vector<SettingSource> sources;
  for (CLI::Option* option : setting_options(cmd)) {
    std::string const env = env_name_of(*option);
    char const* value = std::getenv(env.c_str());
    if (option->count() > 0) {
      sources.push_back({option, "flag"});
    } else if (value != nullptr && *value != '\0') {
      try {
        option->add_result(std::string(value));
        option->run_callback();
      } catch (CLI::ParseError const& e) {
        throw BadInput(env + "='" + value + "': " + e.what());
      }
      sources.push_back({option, "env " + env});
    } else {
      sources.push_back({option, "default"});
    }
  }
  return sources;
}

std::string effective_value(CLI::Option const& option) {
  if (option.count() == 0) {
    std::string fallback = option.get_default_str();
    // CLI11 shows a list's default as "[a,b]"; the value is written "a,b".
    if (fallback.size() >= 2 && fallback.front() == '[' && fallback.back() == ']') {
      fallback = fallback.substr(1, fallback.size() - 2);
    }
    if (fallback.empty()) return option.get_items_expected_max() == 0 ? "false" : "(none)";  // a flag not given
    return fallback;
  }
  std::string out;
  for (auto const& result : option.results()) out += (out.empty() ? "" : ",") + result;
  return out;
}

// `--check`: what a run would use, and when its faults would fire; nothing is started.
void print_check(std::vector<SettingSource> const& sources, lab::LabSettings const& settings) {
  std::cout << "outboard lab --check: the run is valid; nothing was started\nsettings:\n";
  for (auto const& [option, given_by] : sources) {
    std::string const name = "--" + option->get_single_name();
    std::string value = effective_value(*option);
    std::string source = given_by;
    if (name == "--modes" && source == "default" && !settings.scenario.default_modes.empty()) {
      value = fmt::format("{}", fmt::join(settings.scenario.default_modes, ","));
      source = "scenario " + settings.scenario.name;
    }
    std::cout << "  " << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << value
              << std::string(value.size() < 44 ? 44 - value.size() : 1, ' ') << source << "\n";
  }
  std::cout << "scenario " << settings.scenario.name;
  if (!settings.scenario.description.empty()) std::cout << ": " << settings.scenario.description;
  if (settings.scenario.chat_share > 0) {
    std::cout << fmt::format("\nchat: {:g}% of the users on the chat journey", settings.scenario.chat_share * 100);
  }
  if (settings.scenario.jobs) {
    std::cout << fmt::format("\njobs: receipts take {} ms to make, task {} ticks every {} ms, leases of {} ms; "
                             "receipts and ticks are counted after the run",
                             lab::kReceiptRenderMs, lab::kTickTask, lab::kTickPeriodMs, lab::kJobLeaseMs);
  }
  if (settings.gateways > 1 || settings.registry) {
    std::cout << fmt::format("\ngateways: {}; registry: {}", settings.gateways,
                             settings.registry ? "a 3-member etcd on loopback (servers register, gateways watch)"
                                               : "none (the admin API of every gateway)");
  }
  std::cout << fmt::format("\nfaults in a {:g} s run (each mode):\n", static_cast<double>(settings.duration_ms) / 1000);
  auto const plan = lab::fault_plan(settings.scenario, settings.duration_ms);
  if (plan.empty()) std::cout << "  none\n";
  for (std::size_t i = 0; i < plan.size(); ++i) std::cout << "  " << (i + 1) << ". " << plan[i] << "\n";
}

std::vector<std::string> mode_names_of(lab::LabSettings const& settings) {
  std::vector<std::string> names;
  for (auto const& mode : settings.modes) names.push_back(mode.name);
  return names;
}

int run_lab_command(LabFlags const& flags, std::vector<SettingSource> const& sources) {
  if (flags.scenario == "list") {
    list_scenarios();
    return kExitCompleted;
  }
  lab::LabSettings settings;
  std::vector<lab::Expectation> expectations;
  try {
    settings = settings_from(flags);
    expectations = lab::parse_expectations(flags.expect, mode_names_of(settings));
  } catch (BadInput const& e) {
    std::cerr << "outboard lab: " << e.what() << "\n";
    return kExitBadInput;
  } catch (lab::ScenarioError const& e) {
    std::cerr << "outboard lab: " << e.what() << "\n";
    return kExitBadInput;
  } catch (lab::ExpectationError const& e) {
    std::cerr << "outboard lab: " << e.what() << "\n";
    return kExitBadInput;
  }
  if (flags.check) {
    print_check(sources, settings);
    return kExitCompleted;
  }
  std::ostream& progress = flags.json_file == kStdout ? std::cerr : std::cout;
  raise_open_file_limit();
  nlohmann::json results;
  try {
    results = lab::run_lab(settings, progress);
  } catch (lab::Interrupted const& e) {
    progress << "\n";
    std::cerr << "outboard lab: " << e.what() << "\n";
    return kExitInterrupted;
  } catch (lab::ClusterError const& e) {
    std::cerr << "outboard lab: the cluster could not run: " << e.what() << "\n";
    return kExitClusterFailed;
  }
  progress << lab::render_table(results) << std::flush;
  auto const outcomes = lab::check_expectations(expectations, results);
  if (!outcomes.empty()) results["expectations"] = lab::expectations_json(outcomes);
  if (!flags.json_file.empty()) {
    write_json(flags.json_file, results);
    if (flags.json_file != kStdout) progress << "results: " << flags.json_file << "\n";
  }
  if (!flags.report_dir.empty()) {
    auto page = lab::write_html_report(flags.report_dir, results);
    progress << "report: " << page.string() << "\n";
  }
  if (outcomes.empty()) return kExitCompleted;
  progress << lab::render_expectations(outcomes) << std::flush;
  return lab::all_met(outcomes) ? kExitCompleted : kExitExpectationFailed;
}

constexpr char const* kFooter = R"(
Every flag can also be set as OUTBOARD_LAB_<FLAG>, upper case with '_' for '-' (OUTBOARD_LAB_USERS=500,
OUTBOARD_LAB_THINK_MIN_MS=50, OUTBOARD_LAB_MODES=stateless,sticky); a flag on the command line wins.
--check is never read from the environment.

Exit codes: 0 the run completed (whatever the verdicts) and every --expect was met; 1 a cluster
could not start or run; 2 bad input (flags, environment, scenario), nothing started; 3 the run
completed but a verdict was not the one --expect named; 130 interrupted (Ctrl-C, SIGTERM).
)";

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
  cmd->add_option("--gateways", flags->gateways,
                  "outboard gateway processes in front of the servers (1..8); users spread round robin, and move to "
                  "the next gateway when theirs refuses connections")
      ->capture_default_str();
  cmd->add_option("--registry", flags->registry,
                  "none: the lab tells the gateways about servers (admin API); etcd: a 3-member etcd on loopback is "
                  "the truth, servers register, gateways watch")
      ->capture_default_str();
  cmd->add_option("--users", flags->users, "virtual users (open loop: the most at once)")->capture_default_str();
  cmd->add_option("--duration", flags->duration_s, "seconds of load per mode")->capture_default_str();
  cmd->add_option("--arrival-rate", flags->arrival_rate,
                  "open loop: new users per second, each doing one journey (0: closed loop)")
      ->capture_default_str();
  cmd->add_option("--store", flags->store,
                  "sqlite, redis (a private redis-server), redis-cluster (a private 6-node Redis Cluster), or "
                  "redis://HOST:PORT/DB")
      ->capture_default_str();
  cmd->add_option("--data", flags->data,
                  "postgres: the records (accounts, carts, orders, jobs, rooms) in a private PostgreSQL, sessions in "
                  "--store");
  cmd->add_option("--report", flags->report_dir, "write a self-contained HTML report into this directory");
  cmd->add_option("--json", flags->json_file,
                  "write the results as JSON to this file; '-': to standard output (progress and table then go to "
                  "standard error)");
  cmd->add_option("--seed", flags->seed, "seeds the users' choices and random fault targets")->capture_default_str();
  cmd->add_option("--think-min-ms", flags->think_min_ms, "a user's shortest pause between steps")
      ->capture_default_str();
  cmd->add_option("--think-max-ms", flags->think_max_ms, "a user's longest pause between steps")
      ->capture_default_str();
  cmd->add_option("--min-journeys", flags->min_journeys,
                  "each mode runs past --duration (up to 120 s more) until this many journeys have ended, so a slow "
                  "machine still judges some (0: off)")
      ->capture_default_str();
  cmd->add_option("--near-cache-entries", flags->near_cache_entries,
                  "redis: each server's near-cache size (serve's state.near_cache_entries; 0: off)")
      ->capture_default_str();
  cmd->add_option("--access-token-s", flags->access_token_s,
                  "jwt design: the access tokens' lifetime (serve's auth.access_ttl_s); users refresh with a fifth left")
      ->capture_default_str();
  cmd->add_option("--work-dir", flags->work_dir, "keep configs, logs and data here (default: a temp dir, removed)");
  cmd->add_flag("--keep-work", flags->keep_work, "keep the temp work directory and say where it is");
  cmd->add_option("--expect", flags->expect,
                  "the verdict expected per design, e.g. stateless=pass,stateful=fail; exit 3 when one differs")
      ->delimiter(',');
  cmd->add_flag("--check", flags->check,
                "check flags, environment and scenario, print the settings and the faults' times, start nothing");
  cmd->footer(kFooter);
  return [cmd, flags]() -> int {
    if (!cmd->parsed()) return 0;
    std::vector<SettingSource> sources;
    try {
      sources = apply_environment(*cmd);
    } catch (BadInput const& e) {
      std::cerr << "outboard lab: " << e.what() << "\n";
      return kExitBadInput;
    }
    flags->modes_given = std::any_of(sources.begin(), sources.end(), [](SettingSource const& source) {
      return source.option->get_single_name() == "modes" && source.source != "default";
    });
    return run_lab_command(*flags, sources);
  };
}

}  // namespace outboard::app
