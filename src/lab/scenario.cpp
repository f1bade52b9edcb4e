// Scenario files: parsing, the built-ins and the checks made before a lab run starts.
//
// The format (TOML):
//
//   name = "crash-and-deploy"             # required
//   description = "one line"              # optional
//   chat = "25%"                          # optional: the share of the users on the chat journey
//   jobs = true                           # optional: the jobs workload and its ledgers (receipts, ticks)
//   modes = ["naive", "stateless"]        # optional: the designs to compare when --modes is not given
//
//   [[fault]]                             # zero or more; zero faults is a baseline run
//   at = "20%"            # required: "12s", "1500ms" (from the start of the run) or "40%" of
//                         # its duration (0..100, decimals allowed). Always a string.
//   action = "kill"       # required: kill | hang | rolling-deploy | scale-out | scale-in |
//                         # restart-store | kill-redis-master | restart-postgres |
//                         # kill-gateway | partition-registry |
//                         # slow-registry | kill-etcd-leader | latency | loss | partition
//   target = 1            # kill, hang: 1-based position among the servers running then,
//                         # "random" (seeded by --seed), or "mid-job" (a server running a
//                         # background job then); default 1. kill-gateway, partition-registry,
//                         # slow-registry: a gateway's 1-based position (a number only)
//   restart_after = "2s"  # kill, kill-gateway, kill-etcd-leader, kill-redis-master, optional: start it
//                         # again after this long
//   lasting = "2s"        # hang, partition-registry, slow-registry, latency, loss, partition:
//                         # required, > 0: how long
//   latency = "300ms"     # slow-registry, latency: required, > 0: added to each chunk on the link
//   between = "users/gateway 1"  # latency, loss, partition: required, the link they act on:
//                         # "users/gateway N", "gateway N/registry", "gateways/server N",
//                         # "servers/store" (every server's links to the store) or
//                         # "server N/store" (a server's position among those running when it fires)
//   loss = "20%"          # loss only, required: the share of new connections reset (1% to 100%)
//   count = 2             # scale-out, scale-in: how many servers, >= 1; default 1
//   note = "free text"    # optional, shown in the timeline
//
// Durations are strings: a whole number followed by "ms" or "s". A bare TOML integer is refused
// so that nobody has to guess its unit.
//
// Strictness: an unknown key (a typo) and a key that does not apply to the fault's action (say
// `lasting` on a kill) are errors, not silently ignored: a scenario that quietly does something
// other than what its author meant would make the run's verdict meaningless. Every error reads
// "SOURCE:LINE: key 'fault[2].at': reason" (fault numbers are 1-based, in file order).
//
// Scenario::faults keeps file order. Sorting by `at` needs the run's duration (a "40%" fault may
// come before or after a "12s" one), so whoever resolves the times sorts them; the fault numbers
// in messages therefore always match the file.
#include "lab/scenario.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <string_view>
#include <system_error>

#include "core/toml_names.hpp"
#include "lab/modes.hpp"

namespace outboard::lab {
namespace {

// ---------------------------------------------------------------------------------------------
// The built-ins, parsed by parse_scenario like any file (a unit test proves each one valid).
// Shares of the run, not offsets, so each fits any --duration.

constexpr std::string_view kBuiltinCrashAndDeploy = R"toml(
name = "crash-and-deploy"
description = "kill -9 server 1, back after 1s; freeze server 2 for 2s (what it was sent is retried elsewhere, then runs again when it wakes); redeploy every server, one at a time; a quarter of the users chat"
chat = "25%"

[[fault]]
at = "20%"
action = "kill"
target = 1
restart_after = "1s"

[[fault]]
at = "35%"
action = "hang"
target = 2
lasting = "2s"

[[fault]]
at = "55%"
action = "rolling-deploy"
)toml";

constexpr std::string_view kBuiltinCrash = R"toml(
name = "crash"
description = "kill -9 one server chosen at random; a new one replaces it after 1s"

[[fault]]
at = "30%"
action = "kill"
target = "random"
restart_after = "1s"
)toml";

constexpr std::string_view kBuiltinHungServer = R"toml(
name = "hung-server"
description = "freeze server 1 (SIGSTOP) for 3s: it holds connections but answers nothing"

[[fault]]
at = "30%"
action = "hang"
target = 1
lasting = "3s"
)toml";

constexpr std::string_view kBuiltinRollingDeploy = R"toml(
name = "rolling-deploy"
description = "replace every server, one at a time: start the new one, wait ready, drain the old"

[[fault]]
at = "30%"
action = "rolling-deploy"
)toml";

constexpr std::string_view kBuiltinScale = R"toml(
name = "scale"
description = "add 2 servers, later drain and stop 2"

[[fault]]
at = "25%"
action = "scale-out"
count = 2

[[fault]]
at = "65%"
action = "scale-in"
count = 2
)toml";

constexpr std::string_view kBuiltinStoreRestart = R"toml(
name = "store-restart"
description = "stop and restart the shared store while users keep going (needs --store redis)"

[[fault]]
at = "40%"
action = "restart-store"
)toml";

constexpr std::string_view kBuiltinRedisFailover = R"toml(
name = "redis-failover"
description = "kill -9 a Redis Cluster master while users keep going; it comes back as a replica (needs --store redis-cluster)"

[[fault]]
at = "30%"
action = "kill-redis-master"
restart_after = "3s"

[[fault]]
at = "60%"
action = "kill"
target = "random"
restart_after = "1s"
)toml";

constexpr std::string_view kBuiltinPostgresRestart = R"toml(
name = "postgres-restart"
description = "stop and restart PostgreSQL while users keep going, and a server killed (needs --data postgres)"

[[fault]]
at = "30%"
action = "restart-postgres"

[[fault]]
at = "60%"
action = "kill"
target = "random"
restart_after = "1s"
)toml";

constexpr std::string_view kBuiltinEverything = R"toml(
name = "everything"
description = "a kill, a hang, a scale-out, a rolling deploy and a scale-in in one run"

[[fault]]
at = "15%"
action = "kill"
target = 1
restart_after = "1s"

[[fault]]
at = "35%"
action = "hang"
target = 2
lasting = "2s"

[[fault]]
at = "50%"
action = "scale-out"
count = 1

[[fault]]
at = "65%"
action = "rolling-deploy"

[[fault]]
at = "85%"
action = "scale-in"
count = 1
)toml";

constexpr std::string_view kBuiltinChat = R"toml(
name = "chat"
description = "every user on the chat journey: kill -9 server 1 holding connections, back after 1s; then a rolling deploy (close 1001)"
chat = "100%"

[[fault]]
at = "25%"
action = "kill"
target = 1
restart_after = "1s"

[[fault]]
at = "55%"
action = "rolling-deploy"
)toml";

// Game rooms (docs/ACTORS.md): an owner killed with its rooms in memory, then a rolling deploy that
// moves every room. What `stateful` loses there, `actors` loses up to a checkpoint period of and
// `actors-journal` not at all.
constexpr std::string_view kBuiltinGame = R"toml(
name = "game"
description = "every user plays in game rooms of 4: kill -9 server 1 holding rooms, back after 1s; then a rolling deploy"
game = "100%"
modes = ["stateful", "sticky", "actors", "actors-journal"]

[[fault]]
at = "25%"
action = "kill"
target = 1
restart_after = "1s"

[[fault]]
at = "55%"
action = "rolling-deploy"
)toml";

// The kill comes first, while every server is fresh: a server just woken from a hang works off
// what the hang held back (a naive server even runs its own expired claims again), and a kill
// then need not lose a receipt. The hang outlasts the lab's 1 s job lease three times over, so
// another server takes the job over while the frozen one still holds it: what the frozen one
// writes on waking is the stale-lease write.
constexpr std::string_view kBuiltinJobs = R"toml(
name = "jobs"
description = "receipts and a scheduled task under faults: kill -9 a server mid-job (back after 1s), freeze a server mid-job for 3x its lease, then a rolling deploy"
jobs = true
modes = ["naive", "locked", "stateless"]

[[fault]]
at = "20%"
action = "kill"
target = "mid-job"
restart_after = "1s"

[[fault]]
at = "45%"
action = "hang"
target = "mid-job"
lasting = "3s"

[[fault]]
at = "70%"
action = "rolling-deploy"
)toml";

// Several gateways, one truth: needs --gateways 2 (or more) and --registry etcd. A server dies
// for good (its lease expires); while gateway 2 is cut from the registry another dies and a new
// one joins, so gateway 2 routes on a stale truth until it heals; the users' link to gateway 1
// is slowed for a second; then the etcd leader dies; then gateway 2 itself dies and its users
// move to gateway 1.
constexpr std::string_view kBuiltinTruth = R"toml(
name = "truth"
description = "needs --gateways 2 --registry etcd: kill -9 a server; cut gateway 2 from etcd while a server is replaced; +200ms between the users and gateway 1 for 1s; kill the etcd leader; kill -9 gateway 2 (back after 1s)"
modes = ["sticky", "hashed", "stateless"]

[[fault]]
at = "10%"
action = "kill"
target = 3
restart_after = "500ms"

[[fault]]
at = "30%"
action = "partition-registry"
target = 2
lasting = "3s"

[[fault]]
at = "32%"
action = "kill"
target = 1

[[fault]]
at = "34%"
action = "scale-out"
count = 1

[[fault]]
at = "48%"
action = "latency"
between = "users/gateway 1"
latency = "200ms"
lasting = "1s"

[[fault]]
at = "60%"
action = "kill-etcd-leader"
restart_after = "1s"

[[fault]]
at = "75%"
action = "kill-gateway"
target = 2
restart_after = "1s"
)toml";

// Every server cut from the store for 2 s: requests that need the store are answered 503 meanwhile
// (each after the servers' store timeout), and what a partition held back arrives when it heals.
constexpr std::string_view kBuiltinStorePartition = R"toml(
name = "store-partition"
description = "cut every server from the shared store for 2s while users keep going (needs --store redis or --data postgres)"
modes = ["stateless"]

[[fault]]
at = "40%"
action = "partition"
between = "servers/store"
lasting = "2s"
)toml";

constexpr std::string_view kBuiltinCalm = R"toml(
name = "calm"
description = "no faults: a baseline to compare the other scenarios against"
)toml";

// In the order `--scenario list` shows them; the first is the default.
constexpr std::string_view kBuiltinTexts[] = {
    kBuiltinCrashAndDeploy, kBuiltinCrash,        kBuiltinHungServer, kBuiltinRollingDeploy,
    kBuiltinScale,          kBuiltinStoreRestart, kBuiltinEverything, kBuiltinCalm,
    kBuiltinChat,           kBuiltinGame,           kBuiltinJobs,         kBuiltinTruth,          kBuiltinRedisFailover,
    kBuiltinPostgresRestart, kBuiltinStorePartition,
};

// ---------------------------------------------------------------------------------------------
// Small helpers for messages.

// What the node holds, for "got ..." in messages: strings quoted, numbers as written.
std::string shown(toml::node const& node) {
  if (auto const* s = node.as_string()) return "\"" + s->get() + "\"";
  if (auto const* i = node.as_integer()) return core::toml_type_name(node) + " (" + std::to_string(i->get()) + ")";
  return core::toml_type_name(node);
}

std::string format_ms(std::int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// The keys a [[fault]] may hold, and the actions each applies to (for the "does not apply" message).
struct KeyRule {
  std::string_view key;
  std::string_view applies_to;  // "" = every action
};

constexpr KeyRule kFaultKeys[] = {
    {"at", ""},
    {"action", ""},
    {"note", ""},
    {"target", "kill, hang, kill-gateway, partition-registry and slow-registry"},
    {"restart_after", "kill, kill-gateway, kill-etcd-leader and kill-redis-master"},
    {"lasting", "hang, partition-registry, slow-registry, latency, loss and partition"},
    {"latency", "slow-registry and latency"},
    {"between", "latency, loss and partition"},
    {"loss", "loss"},
    {"count", "scale-out and scale-in"},
};

constexpr std::string_view kActions =
    "kill, hang, rolling-deploy, scale-out, scale-in, restart-store, kill-redis-master, restart-postgres, "
    "kill-gateway, partition-registry, slow-registry, kill-etcd-leader, latency, loss or partition";

bool key_applies(std::string_view key, FaultKind kind) {
  if (key == "target") return kind == FaultKind::kill || kind == FaultKind::hang || targets_a_gateway(kind);
  if (key == "restart_after") {
    return kind == FaultKind::kill || kind == FaultKind::kill_gateway || kind == FaultKind::kill_etcd_leader ||
           kind == FaultKind::kill_redis_master;
  }
  if (key == "lasting") {
    return kind == FaultKind::hang || kind == FaultKind::partition_registry || kind == FaultKind::slow_registry ||
           is_network_fault(kind);
  }
  if (key == "latency") return kind == FaultKind::slow_registry || kind == FaultKind::latency;
  if (key == "between") return is_network_fault(kind);
  if (key == "loss") return kind == FaultKind::loss;
  if (key == "count") return kind == FaultKind::scale_out || kind == FaultKind::scale_in;
  return true;
}

std::optional<FaultKind> kind_from_string(std::string_view text) {
  for (auto kind : {FaultKind::kill, FaultKind::hang, FaultKind::rolling_deploy, FaultKind::scale_out,
                    FaultKind::scale_in, FaultKind::restart_store, FaultKind::kill_redis_master,
                    FaultKind::restart_postgres, FaultKind::kill_gateway,
                    FaultKind::partition_registry, FaultKind::slow_registry, FaultKind::kill_etcd_leader,
                    FaultKind::latency, FaultKind::loss, FaultKind::partition}) {
    if (to_string(kind) == text) return kind;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Value grammars. Each returns nullopt on anything outside it; the caller words the error,
// because it knows which key it is reading.

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What lies between `prefix` and `suffix` ("gateway 2/registry" -> "2"), when text is that shape
// with something between them; else nullopt.
std::optional<std::string_view> between_affixes(std::string_view text, std::string_view prefix,
                                                std::string_view suffix) {
  if (text.size() <= prefix.size() + suffix.size() || !text.starts_with(prefix) || !text.ends_with(suffix)) {
    return std::nullopt;
  }
  return text.substr(prefix.size(), text.size() - prefix.size() - suffix.size());
}

// "12s" or "1500ms": a whole number of seconds or milliseconds, nothing else (no sign, no spaces).
std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  std::int64_t scale = 0;
  if (text.ends_with("ms")) {
    scale = 1;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    scale = 1000;
    text.remove_suffix(1);
  } else {
    return std::nullopt;
  }
  if (!all_digits(text)) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value > std::numeric_limits<std::int64_t>::max() / scale) return std::nullopt;
  return value * scale;
}

// "40%" or "12.5%" -> the percentage as written (40, 12.5); the range is checked by the caller.
std::optional<double> parse_percent(std::string_view text) {
  if (!text.ends_with("%")) return std::nullopt;
  text.remove_suffix(1);
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  if (!all_digits(whole)) return std::nullopt;
  if (dot != std::string_view::npos && !all_digits(text.substr(dot + 1))) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// ---------------------------------------------------------------------------------------------
// The parser proper. One instance per document, so every message gets the same source name.

class ScenarioParser {
 public:
  explicit ScenarioParser(std::string const& source) : source_(source) {}

  Scenario parse(std::string const& text) {
    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (toml::parse_error const& err) {
      throw ScenarioError(source_ + ":" + std::to_string(err.source().begin.line) + ": " +
                          std::string(err.description()));
    }
    Scenario scenario;
    check_top_level_keys(root);
    scenario.name = read_name(root);
    if (auto const* node = root.get("description")) scenario.description = read_string(*node, "description");
    if (auto const* node = root.get("chat")) scenario.chat_share = read_share(*node, "chat");
    if (auto const* node = root.get("game")) scenario.game_share = read_share(*node, "game");
    if (auto const* node = root.get("jobs")) scenario.jobs = read_bool(*node, "jobs");
    if (auto const* node = root.get("modes")) scenario.default_modes = read_modes(*node, "modes");
    if (auto const* node = root.get("fault")) scenario.faults = read_faults(*node);
    return scenario;
  }

 private:
  [[noreturn]] void fail(int line, std::string_view key, std::string_view reason) const {
    throw ScenarioError(source_ + ":" + std::to_string(line) + ": key '" + std::string(key) + "': " +
                        std::string(reason));
  }
  [[noreturn]] void fail(toml::node const& node, std::string_view key, std::string_view reason) const {
    fail(static_cast<int>(node.source().begin.line), key, reason);
  }

  // toml::table iterates in key order, not file order; report the first offender in the file.
  template <class IsKnown>
  void check_unknown_keys(toml::table const& table, std::string const& prefix, IsKnown is_known,
                          std::string_view expected) const {
    toml::node const* first = nullptr;
    std::string first_key;
    for (auto const& [key, node] : table) {
      if (is_known(key.str())) continue;
      if (!first || node.source().begin.line < first->source().begin.line) {
        first = &node;
        first_key = std::string(key.str());
      }
    }
    if (first) fail(*first, prefix + first_key, "unknown key; expected " + std::string(expected));
  }

  void check_top_level_keys(toml::table const& root) const {
    check_unknown_keys(
        root, "",
        [](std::string_view key) {
          return key == "name" || key == "description" || key == "chat" || key == "game" || key == "jobs" ||
                 key == "modes" || key == "fault";
        },
        "name, description, chat, game, jobs, modes or [[fault]] tables");
  }

  std::string read_string(toml::node const& node, std::string const& key) const {
    auto const* s = node.as_string();
    if (!s) fail(node, key, "expected a string, got " + shown(node));
    return s->get();
  }

  bool read_bool(toml::node const& node, std::string const& key) const {
    auto const* b = node.as_boolean();
    if (!b) fail(node, key, "expected true or false, got " + shown(node));
    return b->get();
  }

  // ["naive", "stateless"]: known modes, each once.
  std::vector<std::string> read_modes(toml::node const& node, std::string const& key) const {
    auto const* array = node.as_array();
    if (!array || array->empty()) fail(node, key, "expected a list of modes like [\"naive\", \"stateless\"]");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < array->size(); ++i) {
      std::string item_key = key + "[" + std::to_string(i + 1) + "]";
      std::string name = read_string(*array->get(i), item_key);
      if (!find_mode(name)) fail(*array->get(i), item_key, "unknown mode \"" + name + "\"; known: " + mode_names());
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        fail(*array->get(i), item_key, "\"" + name + "\" is listed twice");
      }
      names.push_back(std::move(name));
    }
    return names;
  }

  std::string read_name(toml::table const& root) const {
    auto const* node = root.get("name");
    // A missing key has no line of its own; the top of the file is where it belongs.
    if (!node) fail(1, "name", "missing; every scenario needs a name");
    std::string name = read_string(*node, "name");
    if (name.empty()) fail(*node, "name", "must not be empty");
    return name;
  }

  std::vector<FaultSpec> read_faults(toml::node const& node) const {
    auto const* array = node.as_array();
    if (!array) fail(node, "fault", "expected [[fault]] tables, got " + core::toml_type_name(node));
    std::vector<FaultSpec> faults;
    faults.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
      std::string prefix = "fault[" + std::to_string(i + 1) + "]";
      auto const& element = *array->get(i);
      auto const* table = element.as_table();
      if (!table) fail(element, prefix, "expected a table, got " + core::toml_type_name(element));
      faults.push_back(read_fault(*table, prefix));
    }
    return faults;
  }

  FaultSpec read_fault(toml::table const& table, std::string const& prefix) const {
    check_unknown_keys(
        table, prefix + ".",
        [](std::string_view key) {
          return std::any_of(std::begin(kFaultKeys), std::end(kFaultKeys),
                             [&](KeyRule const& rule) { return rule.key == key; });
        },
        "at, action, target, restart_after, lasting, latency, between, loss, count or note");

    FaultSpec fault;
    fault.kind = read_action(table, prefix);
    check_keys_apply(table, prefix, fault.kind);

    auto const* at = table.get("at");
    if (!at) fail(table, prefix + ".at", "missing; every fault needs a time like \"12s\", \"1500ms\" or \"40%\"");
    fault.at = read_time(*at, prefix + ".at");
    fault.origin = source_ + ":" + std::to_string(at->source().begin.line);

    if (auto const* node = table.get("target")) {
      fault.target = read_target(*node, prefix + ".target");
      if (targets_a_gateway(fault.kind) && (fault.target.random || fault.target.mid_job)) {
        fail(*node, prefix + ".target", "a " + std::string(to_string(fault.kind)) +
                                            " fault names a gateway by its position (1, 2, ...), got " + shown(*node));
      }
    }
    if (auto const* node = table.get("restart_after")) {
      fault.restart_after_ms = read_duration(*node, prefix + ".restart_after");
    }
    if (key_applies("lasting", fault.kind)) {
      auto const* lasting = table.get("lasting");
      if (!lasting) {
        fail(table, prefix + ".lasting",
             "missing; a " + std::string(to_string(fault.kind)) + " needs to know how long, like \"2s\"");
      }
      fault.lasting_ms = read_duration(*lasting, prefix + ".lasting");
      if (fault.lasting_ms <= 0) fail(*lasting, prefix + ".lasting", "must be longer than 0");
    }
    if (key_applies("latency", fault.kind)) {
      auto const* latency = table.get("latency");
      if (!latency) {
        fail(table, prefix + ".latency",
             "missing; a " + std::string(to_string(fault.kind)) + " needs the delay to add, like \"300ms\"");
      }
      fault.latency_ms = read_duration(*latency, prefix + ".latency");
      if (fault.latency_ms <= 0) fail(*latency, prefix + ".latency", "must be longer than 0");
    }
    if (is_network_fault(fault.kind)) {
      auto const* between = table.get("between");
      if (!between) {
        fail(table, prefix + ".between",
             "missing; a " + std::string(to_string(fault.kind)) + R"( needs its link, like "users/gateway 1")");
      }
      fault.between = read_link(*between, prefix + ".between");
    }
    if (fault.kind == FaultKind::loss) {
      auto const* loss = table.get("loss");
      if (!loss) fail(table, prefix + ".loss", R"(missing; a loss needs the share of connections to reset, like "20%")");
      fault.loss_percent = read_loss(*loss, prefix + ".loss");
    }
    if (auto const* node = table.get("count")) fault.count = read_count(*node, prefix + ".count");
    if (auto const* node = table.get("note")) fault.note = read_string(*node, prefix + ".note");
    return fault;
  }

  FaultKind read_action(toml::table const& table, std::string const& prefix) const {
    std::string key = prefix + ".action";
    auto const* node = table.get("action");
    if (!node) fail(table, key, "missing; expected " + std::string(kActions));
    std::string text = read_string(*node, key);
    auto kind = kind_from_string(text);
    if (!kind) {
      fail(*node, key,
           "unknown action \"" + text + "\"; expected " + std::string(kActions));
    }
    return *kind;
  }

  void check_keys_apply(toml::table const& table, std::string const& prefix, FaultKind kind) const {
    for (auto const& rule : kFaultKeys) {
      auto const* node = table.get(rule.key);
      if (!node || key_applies(rule.key, kind)) continue;
      fail(*node, prefix + "." + std::string(rule.key),
           "does not apply to a " + std::string(to_string(kind)) + " fault (only to " +
               std::string(rule.applies_to) + ")");
    }
  }

  FaultTime read_time(toml::node const& node, std::string const& key) const {
    constexpr std::string_view expected = R"(expected a duration like "12s", "1500ms" or "40%")";
    auto const* s = node.as_string();
    if (!s) fail(node, key, std::string(expected) + ", got " + shown(node));
    FaultTime time;
    if (auto ms = parse_duration_ms(s->get())) {
      time.offset_ms = *ms;
      return time;
    }
    if (auto percent = parse_percent(s->get())) {
      if (*percent > 100.0) fail(node, key, "a share of the run must be 0% to 100%, got \"" + s->get() + "\"");
      time.fraction = *percent / 100.0;
      return time;
    }
    fail(node, key, std::string(expected) + ", got " + shown(node));
  }

  // "25%": the share of the users on the chat journey, 0% to 100%.
  double read_share(toml::node const& node, std::string const& key) const {
    constexpr std::string_view expected = R"(expected a share of the users like "25%" (0% to 100%))";
    auto const* s = node.as_string();
    if (!s) fail(node, key, std::string(expected) + ", got " + shown(node));
    auto percent = parse_percent(s->get());
    if (!percent || *percent > 100.0) fail(node, key, std::string(expected) + ", got " + shown(node));
    return *percent / 100.0;
  }

  std::int64_t read_duration(toml::node const& node, std::string const& key) const {
    constexpr std::string_view expected = R"(expected a duration like "2s" or "1500ms")";
    auto const* s = node.as_string();
    if (!s) fail(node, key, std::string(expected) + ", got " + shown(node));
    if (auto ms = parse_duration_ms(s->get())) return *ms;
    if (parse_percent(s->get())) {
      fail(node, key, std::string(expected) + " (a share of the run only works for 'at'), got " + shown(node));
    }
    fail(node, key, std::string(expected) + ", got " + shown(node));
  }

  FaultTarget read_target(toml::node const& node, std::string const& key) const {
    constexpr std::string_view expected = R"(expected a server position (1, 2, ...) or "random" (or "mid-job": a server running a job then))";
    FaultTarget target;
    if (auto const* s = node.as_string()) {
      if (s->get() != "random" && s->get() != "mid-job") fail(node, key, std::string(expected) + ", got " + shown(node));
      target.random = s->get() == "random";
      target.mid_job = s->get() == "mid-job";
      return target;
    }
    auto const* i = node.as_integer();
    if (!i) fail(node, key, std::string(expected) + ", got " + shown(node));
    if (i->get() < 1 || i->get() > std::numeric_limits<int>::max()) {
      fail(node, key, "server positions start at 1, got " + std::to_string(i->get()));
    }
    target.index = static_cast<int>(i->get());
    return target;
  }

  // "users/gateway 2", "gateway 2/registry", "gateways/server 2", "servers/store" or
  // "server 2/store", exactly (one space, a position from 1).
  FaultLink read_link(toml::node const& node, std::string const& key) const {
    constexpr std::string_view expected = R"(expected a link "users/gateway N", "gateway N/registry", )"
                                          R"("gateways/server N", "servers/store" or "server N/store")";
    auto const* s = node.as_string();
    if (!s) fail(node, key, std::string(expected) + ", got " + shown(node));
    std::string_view text = s->get();
    if (text == "servers/store") return FaultLink{LinkKind::servers_store, 0};
    constexpr std::string_view users_prefix = "users/gateway ";
    constexpr std::string_view server_prefix = "gateways/server ";
    FaultLink link;
    std::string_view number;
    if (text.starts_with(server_prefix)) {
      link.kind = LinkKind::gateways_server;
      number = text.substr(server_prefix.size());
    } else if (text.starts_with(users_prefix)) {
      link.kind = LinkKind::users_gateway;
      number = text.substr(users_prefix.size());
    } else if (auto n = between_affixes(text, "gateway ", "/registry")) {
      link.kind = LinkKind::gateway_registry;
      number = *n;
    } else if (auto m = between_affixes(text, "server ", "/store")) {
      link.kind = LinkKind::server_store;
      number = *m;
    }
    int position = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), position);
    if (link.kind == LinkKind::none || !all_digits(number) || ec != std::errc() || end != number.data() + number.size()) {
      fail(node, key, std::string(expected) + ", got " + shown(node));
    }
    if (position < 1) fail(node, key, "positions start at 1, got " + shown(node));
    link.gateway = position;
    return link;
  }

  // "20%": a whole percentage of new connections, 1% to 100% (what FaultProxy's loss draws take).
  int read_loss(toml::node const& node, std::string const& key) const {
    constexpr std::string_view expected = R"(expected a whole share of connections like "20%" (1% to 100%))";
    auto const* s = node.as_string();
    if (!s) fail(node, key, std::string(expected) + ", got " + shown(node));
    auto percent = parse_percent(s->get());
    if (!percent || *percent < 1.0 || *percent > 100.0 || std::floor(*percent) != *percent) {
      fail(node, key, std::string(expected) + ", got " + shown(node));
    }
    return static_cast<int>(*percent);
  }

  int read_count(toml::node const& node, std::string const& key) const {
    auto const* i = node.as_integer();
    if (!i) fail(node, key, "expected a whole number of servers, got " + shown(node));
    if (i->get() < 1 || i->get() > std::numeric_limits<int>::max()) {
      fail(node, key, "must be at least 1, got " + std::to_string(i->get()));
    }
    return static_cast<int>(i->get());
  }

  std::string source_;
};

// Why the servers' links to the store cannot be cut in this run, or "" when they can: only a
// store process the lab starts and reaches over TCP can have a proxy put in front of it.
std::string store_link_problem(bool store_is_a_process, StoreEngines engines) {
  // PostgreSQL alone is enough: its link is cut, the sessions' store (whatever it is) is not.
  if (store_is_a_process || engines.postgres) return "";
  if (engines.redis_cluster) {
    return "the Redis Cluster's nodes announce their own addresses to the servers, so no proxy can sit in front of "
           "them; add --data postgres to cut the servers' link to PostgreSQL (the sessions' link to the cluster stays)";
  }
  if (engines.external_redis) {
    return "a --store redis://... is the operator's store: the lab does not rewrite its address to pass through a "
           "proxy; run with --store redis (a private redis-server) or --data postgres";
  }
  return "the sqlite store is embedded in each server, there is no link to cut; run with --store redis or --data "
         "postgres";
}

// A network fault's link must exist in the run: its gateway, etcd for a registry link, a server
// at its position, a store reached over TCP for a store link.
void check_link_fits(FaultSpec const& fault, std::string const& what, int gateways, bool registry,
                     std::int64_t running, std::string const& store_problem) {
  if (fault.between.kind == LinkKind::none) return;
  if (is_store_link(fault.between.kind) && !store_problem.empty()) throw ScenarioError(what + ": " + store_problem);
  if (fault.between.kind == LinkKind::servers_store) return;
  if (fault.between.kind == LinkKind::gateways_server || fault.between.kind == LinkKind::server_store) {
    if (fault.between.gateway > running) {
      throw ScenarioError(what + " fires when " + std::to_string(running) + " server(s) run; there is no server " +
                          std::to_string(fault.between.gateway));
    }
    return;
  }
  if (fault.between.gateway > gateways) {
    throw ScenarioError(what + ": there is no gateway " + std::to_string(fault.between.gateway) + " (--gateways " +
                        std::to_string(gateways) + ")");
  }
  if (fault.between.kind == LinkKind::gateway_registry && !registry) {
    throw ScenarioError(what + " needs a registry: run with --registry etcd");
  }
}

// The faults' indices in the order they fire in a run lasting duration_ms (ties keep file order).
// Cost: O(n log n) in the number of faults.
std::vector<std::size_t> firing_order(Scenario const& scenario, std::int64_t duration_ms) {
  std::vector<std::size_t> order(scenario.faults.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return scenario.faults[a].at.resolve(duration_ms) < scenario.faults[b].at.resolve(duration_ms);
  });
  return order;
}

}  // namespace

std::string_view to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::kill: return "kill";
    case FaultKind::hang: return "hang";
    case FaultKind::rolling_deploy: return "rolling-deploy";
    case FaultKind::scale_out: return "scale-out";
    case FaultKind::scale_in: return "scale-in";
    case FaultKind::restart_store: return "restart-store";
    case FaultKind::kill_redis_master: return "kill-redis-master";
    case FaultKind::restart_postgres: return "restart-postgres";
    case FaultKind::kill_gateway: return "kill-gateway";
    case FaultKind::partition_registry: return "partition-registry";
    case FaultKind::slow_registry: return "slow-registry";
    case FaultKind::kill_etcd_leader: return "kill-etcd-leader";
    case FaultKind::latency: return "latency";
    case FaultKind::loss: return "loss";
    case FaultKind::partition: return "partition";
  }
  return "unknown";
}

bool is_network_fault(FaultKind kind) {
  return kind == FaultKind::latency || kind == FaultKind::loss || kind == FaultKind::partition;
}

std::string describe_link(FaultLink link) {
  switch (link.kind) {
    case LinkKind::users_gateway: return "users/gateway " + std::to_string(link.gateway);
    case LinkKind::gateway_registry: return "gateway " + std::to_string(link.gateway) + "/registry";
    case LinkKind::gateways_server: return "gateways/server " + std::to_string(link.gateway);
    case LinkKind::servers_store: return "servers/store";
    case LinkKind::server_store: return "server " + std::to_string(link.gateway) + "/store";
    case LinkKind::none: break;
  }
  return "no link";
}

bool is_store_link(LinkKind kind) { return kind == LinkKind::servers_store || kind == LinkKind::server_store; }

bool has_server_links(Scenario const& scenario) {
  return std::any_of(scenario.faults.begin(), scenario.faults.end(),
                     [](FaultSpec const& f) { return f.between.kind == LinkKind::gateways_server; });
}

bool has_store_links(Scenario const& scenario) {
  return std::any_of(scenario.faults.begin(), scenario.faults.end(),
                     [](FaultSpec const& f) { return is_store_link(f.between.kind); });
}

std::vector<int> gateways_with_user_links(Scenario const& scenario) {
  std::vector<int> gateways;
  for (auto const& fault : scenario.faults) {
    if (fault.between.kind == LinkKind::users_gateway) gateways.push_back(fault.between.gateway);
  }
  std::sort(gateways.begin(), gateways.end());
  gateways.erase(std::unique(gateways.begin(), gateways.end()), gateways.end());
  return gateways;
}

bool targets_a_gateway(FaultKind kind) {
  return kind == FaultKind::kill_gateway || kind == FaultKind::partition_registry || kind == FaultKind::slow_registry;
}

bool needs_registry(FaultKind kind) {
  return kind == FaultKind::partition_registry || kind == FaultKind::slow_registry || kind == FaultKind::kill_etcd_leader;
}

std::string describe_fault(FaultSpec const& fault) {
  std::string action(to_string(fault.kind));
  switch (fault.kind) {
    case FaultKind::kill:
    case FaultKind::hang:
      if (fault.target.mid_job) return action + " a server running a job";
      return action + (fault.target.random ? " a random server" : " server " + std::to_string(fault.target.index));
    case FaultKind::scale_out:
    case FaultKind::scale_in: return action + " " + std::to_string(fault.count);
    case FaultKind::kill_gateway:
    case FaultKind::partition_registry: return action + " " + std::to_string(fault.target.index);
    case FaultKind::slow_registry:
      return action + " " + std::to_string(fault.target.index) + " +" + format_ms(fault.latency_ms);
    case FaultKind::latency: return action + " " + describe_link(fault.between) + " +" + format_ms(fault.latency_ms);
    case FaultKind::loss:
      return action + " " + describe_link(fault.between) + " " + std::to_string(fault.loss_percent) + "%";
    case FaultKind::partition: return action + " " + describe_link(fault.between);
    case FaultKind::rolling_deploy:
    case FaultKind::restart_store:
    case FaultKind::kill_redis_master:
    case FaultKind::restart_postgres:
    case FaultKind::kill_etcd_leader: return action;
  }
  return action;
}

std::vector<std::string> fault_plan(Scenario const& scenario, std::int64_t duration_ms) {
  std::vector<std::string> lines;
  for (std::size_t i : firing_order(scenario, duration_ms)) {
    FaultSpec const& fault = scenario.faults[i];
    std::int64_t const when = fault.at.resolve(duration_ms);
    std::string line = "at " + format_ms(when);
    if (fault.at.fraction) line += fmt::format(" ({:g}%)", *fault.at.fraction * 100);
    line += ": " + describe_fault(fault);
    if (fault.kind == FaultKind::kill && fault.restart_after_ms) {
      line += ", replaced after " + format_ms(*fault.restart_after_ms);
    }
    if ((fault.kind == FaultKind::kill_gateway || fault.kind == FaultKind::kill_etcd_leader ||
         fault.kind == FaultKind::kill_redis_master) &&
        fault.restart_after_ms) {
      line += ", back after " + format_ms(*fault.restart_after_ms);
    }
    if (key_applies("lasting", fault.kind)) line += " for " + format_ms(fault.lasting_ms);
    if (!fault.note.empty()) line += " (" + fault.note + ")";
    if (!fault.origin.empty()) line += " [" + fault.origin + "]";
    lines.push_back(std::move(line));
  }
  return lines;
}

bool is_chat_user(int index, double chat_share) {
  // Floors of the running share: user i is a chat user when the count owed grows at i. In whole
  // basis points, so that 25% of 4 users is exactly 1 (not 0.9999...).
  auto basis_points = static_cast<std::int64_t>(std::llround(chat_share * 10'000));
  auto owed = [&](std::int64_t users) { return users * basis_points / 10'000; };
  return owed(index + 1) > owed(index);
}

std::int64_t FaultTime::resolve(std::int64_t duration_ms) const {
  if (offset_ms) return *offset_ms;
  if (fraction) return std::llround(*fraction * static_cast<double>(duration_ms));
  return 0;
}

Scenario parse_scenario(std::string const& toml_text, std::string const& source_name) {
  return ScenarioParser(source_name).parse(toml_text);
}

Scenario load_scenario_file(std::string const& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ScenarioError(path + ": no such scenario file");
  if (std::filesystem::is_directory(path, ec)) throw ScenarioError(path + ": is a directory, not a scenario file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(path + ": cannot open the scenario file");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ScenarioError(path + ": cannot read the scenario file");
  return parse_scenario(text.str(), path);
}

std::vector<Scenario> const& builtin_scenarios() {
  // Parsed once, on first use; a bad built-in would throw here (and fail the unit test first).
  static std::vector<Scenario> const builtins = [] {
    std::vector<Scenario> out;
    for (std::size_t i = 0; i < std::size(kBuiltinTexts); ++i) {
      out.push_back(parse_scenario(std::string(kBuiltinTexts[i]), "built-in scenario " + std::to_string(i + 1)));
      // A line inside the binary tells an operator nothing.
      for (auto& fault : out.back().faults) fault.origin.clear();
    }
    return out;
  }();
  return builtins;
}

Scenario find_scenario(std::string const& name_or_path) {
  for (auto const& scenario : builtin_scenarios()) {
    if (scenario.name == name_or_path) return scenario;
  }
  if (name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".toml")) {
    return load_scenario_file(name_or_path);
  }
  std::string names;
  for (auto const& scenario : builtin_scenarios()) {
    if (!names.empty()) names += ", ";
    names += scenario.name;
  }
  throw ScenarioError("unknown scenario '" + name_or_path + "'; built-ins: " + names +
                      " (or give a path to a .toml file)");
}

void check_scenario_fits(Scenario const& scenario, int servers, std::int64_t duration_ms,
                         bool store_is_a_process, int gateways, bool registry, StoreEngines engines) {
  std::string const who = "scenario '" + scenario.name + "'";
  if (servers < 1) throw ScenarioError(who + ": need at least 1 server, got " + std::to_string(servers));
  if (duration_ms <= 0) throw ScenarioError(who + ": the run must last longer than 0ms");

  std::string const store_problem = store_link_problem(store_is_a_process, engines);
  // Walk the faults in the order they will fire, tracking how many servers run at each moment.
  std::int64_t running = servers;
  for (std::size_t i : firing_order(scenario, duration_ms)) {
    FaultSpec const& fault = scenario.faults[i];
    std::string const what = who + ": fault " + std::to_string(i + 1) + " (" + describe_fault(fault) + ")";
    std::int64_t when = fault.at.resolve(duration_ms);
    if (when >= duration_ms) {
      throw ScenarioError(what + " fires at " + format_ms(when) + " but the run lasts " + format_ms(duration_ms));
    }
    if (needs_registry(fault.kind) && !registry) {
      throw ScenarioError(what + " needs a registry: run with --registry etcd");
    }
    if (fault.kind == FaultKind::kill_gateway && gateways < 2) {
      throw ScenarioError(what + " needs --gateways 2 or more: the users of a dead gateway need another to move to");
    }
    if (targets_a_gateway(fault.kind) && fault.target.index > gateways) {
      throw ScenarioError(what + ": there is no gateway " + std::to_string(fault.target.index) + " (--gateways " +
                          std::to_string(gateways) + ")");
    }
    check_link_fits(fault, what, gateways, registry, running, store_problem);
    switch (fault.kind) {
      case FaultKind::kill_gateway:
      case FaultKind::partition_registry:
      case FaultKind::slow_registry:
      case FaultKind::kill_etcd_leader:
      case FaultKind::latency:
      case FaultKind::loss:
      case FaultKind::partition: break;
      case FaultKind::kill:
      case FaultKind::hang:
        if (!fault.target.random && !fault.target.mid_job && fault.target.index > running) {
          throw ScenarioError(what + " fires when " + std::to_string(running) +
                              " server(s) run; there is no server " + std::to_string(fault.target.index));
        }
        // A kill with restart_after is replaced, so only a plain kill lowers the count (the
        // moment between the kill and the restart is the point of the fault, not an error).
        if (fault.kind == FaultKind::kill && !fault.restart_after_ms) {
          if (running - 1 < 1) throw ScenarioError(what + " would leave 0 servers; at least 1 must stay");
          running -= 1;
        }
        break;
      case FaultKind::scale_in:
        if (running - fault.count == 0) {
          throw ScenarioError(what + " would leave 0 servers; at least 1 must stay");
        }
        if (running - fault.count < 0) {
          throw ScenarioError(what + " would stop " + std::to_string(fault.count) + " servers but only " +
                              std::to_string(running) + " run then; at least 1 must stay");
        }
        running -= fault.count;
        break;
      case FaultKind::scale_out: running += fault.count; break;
      case FaultKind::restart_store:
        if (!store_is_a_process) {
          throw ScenarioError(what + ": the sqlite store is embedded in each server; restart-store needs --store redis");
        }
        break;
      case FaultKind::kill_redis_master:
        if (!engines.redis_cluster) throw ScenarioError(what + " needs a Redis Cluster: run with --store redis-cluster");
        break;
      case FaultKind::restart_postgres:
        if (!engines.postgres) throw ScenarioError(what + " needs PostgreSQL: run with --data postgres");
        break;
      case FaultKind::rolling_deploy: break;
    }
  }
}

}  // namespace outboard::lab
