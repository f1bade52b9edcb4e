#pragma once
// A lab scenario: the faults to inject, each at a moment of the run. Scenarios are TOML files
// (docs/LAB.md shows the format); a few are built in and listed by `outboard lab --scenario list`.
//
// Parsing never starts anything: a bad file is a ScenarioError naming the file, the line and the
// key, raised before the lab launches a single process.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace outboard::lab {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class FaultKind {
  kill,           // kill -9 a server; optionally the supervisor starts a new one after `restart_after`
  hang,           // SIGSTOP a server, SIGCONT after `lasting`
  rolling_deploy, // start a replacement, wait ready, drain and SIGTERM the old: one server at a time
  scale_out,      // start `count` more servers and add them to the gateway
  scale_in,       // drain then stop `count` servers
  restart_store,  // stop and start the shared store (redis); nothing to do for embedded sqlite
  // The scale-out stores' faults (--store redis-cluster, --data postgres; docs/STATE.md):
  kill_redis_master,  // kill -9 a master of the cluster (a replica takes over); optionally restarted
  restart_postgres,   // a fast shutdown of PostgreSQL, then started again on the same data
  // The truth faults (--gateways, --registry etcd; docs/LAB.md):
  kill_gateway,        // kill -9 gateway `target`; optionally started again after `restart_after`
  partition_registry,  // cut gateway `target` from etcd for `lasting` (it keeps its last truth)
  slow_registry,       // add `latency` to gateway `target`'s link to etcd for `lasting`
  kill_etcd_leader,    // kill -9 the etcd leader; optionally started again after `restart_after`
  // The network faults on a link `between` two parts (a lab FaultProxy on it), for `lasting`:
  latency,    // each chunk either way waits `latency` more
  loss,       // each new connection is reset at once with probability `loss`
  partition,  // nothing crosses either way; what was held is sent on healing
};

// A link between two parts, as a network fault's `between` names it.
enum class LinkKind {
  none,              // not a network fault
  users_gateway,     // "users/gateway N": the users' connections to gateway N
  gateway_registry,  // "gateway N/registry": gateway N's connections to the etcd members
  gateways_server,   // "gateways/server N": every gateway's connections to server N (its position then)
  servers_store,     // "servers/store": every server's connections to the shared store
  server_store,      // "server N/store": server N's connections to the shared store (its position then)
};
struct FaultLink {
  LinkKind kind = LinkKind::none;
  int gateway = 0;  // 1-based; for gateways_server and server_store, the server's position; 0 for servers_store
  bool operator==(FaultLink const&) const = default;
};
// "users/gateway 1", "gateway 2/registry", "gateways/server 3", "servers/store", "server 2/store":
// the text a scenario's `between` names it by.
std::string describe_link(FaultLink link);
// Whether the link is a server's to the shared store (servers_store, server_store).
bool is_store_link(LinkKind kind);

// Whether a fault acts on a gateway (its `target` is a gateway position), or needs the registry.
bool targets_a_gateway(FaultKind kind);
bool needs_registry(FaultKind kind);
bool is_network_fault(FaultKind kind);  // latency, loss, partition

// "kill", "hang", "rolling-deploy", "scale-out", "scale-in", "restart-store", "kill-redis-master",
// "restart-postgres", "kill-gateway",
// "partition-registry", "slow-registry", "kill-etcd-leader", "latency", "loss", "partition".
std::string_view to_string(FaultKind kind);

// When a fault fires: a fixed offset from the start of the run, or a share of its duration
// (built-ins use shares, so they fit any --duration).
struct FaultTime {
  std::optional<std::int64_t> offset_ms;  // at = "12s" / "1500ms"
  std::optional<double> fraction;         // at = "40%"  -> 0.4
  // The offset for a run lasting duration_ms.
  std::int64_t resolve(std::int64_t duration_ms) const;
};

// Which server a fault hits: a 1-based position among the servers running when it fires, one
// chosen at random (seeded by --seed), or one running a background job at that moment (its
// /metrics says outboard_jobs_in_flight > 0; the lab polls for a while, then falls back to a
// random one and says so in the timeline).
struct FaultTarget {
  bool random = false;
  bool mid_job = false;
  int index = 1;  // used when neither random nor mid_job
};

struct FaultSpec {
  FaultKind kind = FaultKind::kill;
  FaultTime at;
  FaultTarget target;                          // kill, hang
  std::optional<std::int64_t> restart_after_ms; // kill: replace the dead server after this long
  std::int64_t lasting_ms = 0;                  // hang, partition-registry, slow-registry and the network faults: how long (> 0 required)
  std::int64_t latency_ms = 0;                  // slow-registry, latency: added to each chunk either way (> 0 required)
  int loss_percent = 0;                         // loss: 1..100, the share of new connections reset
  FaultLink between;                            // latency, loss, partition: the link they act on
  int count = 1;                                // scale-out, scale-in: how many servers (>= 1)
  std::string note;                             // optional free text shown in the timeline
  std::string origin;  // where its time was written, "my.toml:12"; empty for a built-in
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<FaultSpec> faults;  // sorted by `at` for the duration they are resolved against
  double chat_share = 0;          // `chat = "25%"`: the share of the users on the chat journey (0..1)
  // `game = "100%"`: the share of the users who play in game rooms (docs/ACTORS.md), among those
  // not on the chat journey (0..1). A game run's gateway routes by the design's game policy.
  double game_share = 0;
  // `jobs = true`: the jobs workload runs beside the journeys (short leases, a slow receipt, a
  // scheduled task every second) and its ledgers count receipts and ticks after the run.
  bool jobs = false;
  // `modes = ["naive", ...]`: the designs this scenario compares when --modes is not given
  // (empty: the lab's default); each is a known mode.
  std::vector<std::string> default_modes;
};

// Whether user `index` (0-based, in arrival order) takes the chat journey: spread evenly, so
// any number of users gets its share (25%: users 3, 7, 11, ...; 100%: every one).
bool is_chat_user(int index, double chat_share);

// Parses a scenario from TOML text. source_name ("my.toml") prefixes every error message:
// "my.toml:7: key 'fault[2].at': expected a duration like \"12s\", \"1500ms\" or \"40%\"".
Scenario parse_scenario(std::string const& toml_text, std::string const& source_name);

// Reads and parses a file; a missing or unreadable file is a ScenarioError naming it.
Scenario load_scenario_file(std::string const& path);

// The built-in scenarios, in the order `--scenario list` shows them.
std::vector<Scenario> const& builtin_scenarios();

// The gateways (1-based, ascending, each once) a network fault on "users/gateway N" names: only
// these get a proxy in front of them, so a run without such faults is unchanged.
std::vector<int> gateways_with_user_links(Scenario const& scenario);
// Whether a network fault names "gateways/server N": then every server is fronted by a proxy.
bool has_server_links(Scenario const& scenario);
// Whether a network fault names "servers/store" or "server N/store": then every server reaches the
// store through proxies of its own (one per store process it uses).
bool has_store_links(Scenario const& scenario);

// A built-in by name, else a file path (anything with '/' or ending in ".toml"). An unknown name
// is a ScenarioError that lists the built-ins.
Scenario find_scenario(std::string const& name_or_path);

// "kill server 2", "hang a random server", "scale-in 3", "rolling-deploy": as messages name a fault.
std::string describe_fault(FaultSpec const& fault);

// The faults as they fire in a run lasting duration_ms, in firing order (ties keep file order),
// one line each: "at 4500ms (30%): kill server 2, replaced after 2s [my.toml:12]". For `lab --check`.
std::vector<std::string> fault_plan(Scenario const& scenario, std::int64_t duration_ms);

// Checks a scenario against a planned run before anything starts: servers >= 1, scale-in never
// takes the cluster below 1 server, restart-store needs a store process, every fault falls within
// the run. Throws ScenarioError with a message naming the scenario and the fault.
// The truth faults need their parts: a gateway fault's target among `gateways`, kill-gateway
// at least 2 gateways (its users need another), the registry faults `registry`; a network
// fault's link its gateway among `gateways` and, for "gateway N/registry", `registry`.
// A link to the store ("servers/store", "server N/store") needs a store process reached over TCP
// that the lab starts: the private redis (`store_is_a_process`) or PostgreSQL (`postgres`, whose
// link alone is cut when the sessions live in sqlite, a Redis Cluster or the operator's redis).
// The store engines a run starts, for the faults that act on them.
struct StoreEngines {
  bool redis_cluster = false;   // --store redis-cluster
  bool postgres = false;        // --data postgres
  bool external_redis = false;  // --store redis://HOST:PORT/DB (the operator's)
};
void check_scenario_fits(Scenario const& scenario, int servers, std::int64_t duration_ms,
                         bool store_is_a_process, int gateways = 1, bool registry = false,
                         StoreEngines engines = {});

}  // namespace outboard::lab
