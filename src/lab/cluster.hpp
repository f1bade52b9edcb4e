#pragma once
// The topology of one lab run: the store (a private redis-server when asked for), N `outboard
// serve` processes and one `outboard gateway` in front of them, all on free loopback ports, all
// owned by the lab (lab/child_process.hpp). It is also where the faults act: the lab changes the
// cluster only through these operations, each of which reports what it did as an event.
//
// Single-threaded: every call runs on the lab's one event loop.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab/child_process.hpp"
#include "lab/etcd_cluster.hpp"
#include "lab/fault_proxy.hpp"
#include "lab/free_port.hpp"
#include "lab/metrics_text.hpp"
#include "lab/modes.hpp"
#include "lab/postgres_engine.hpp"
#include "lab/process_wait.hpp"
#include "lab/redis_cluster_engine.hpp"
#include "lab/run_stats.hpp"
#include "lab/user_agent.hpp"

namespace outboard::lab {

// sqlite: embedded in each server; private_redis: a redis-server the lab starts; external_redis:
// one the operator runs; private_redis_cluster: a 6-node Redis Cluster the lab starts.
enum class StoreKind { sqlite, private_redis, external_redis, private_redis_cluster };

// What a kill or a hang expects of its target at the moment it is sent (a "mid-job" fault reads
// the target's /metrics just before the signal, and the signal follows that read at once):
// nothing; a receipt job in flight, else no signal (the caller aims again); or a receipt job in
// flight if it can be had: the signal is sent anyway and, without one, a "target" event says so.
enum class JobAim { none, required, hoped };

struct ClusterSettings {
  std::filesystem::path outboard_binary;
  std::vector<std::string> server_command;  // empty: {outboard_binary} (see LabSettings)
  std::filesystem::path redis_server = "/usr/bin/redis-server";
  std::filesystem::path work_dir;  // this run's own directory: configs, logs, sqlite file, uploads
  ModeSpec mode;
  StoreKind store = StoreKind::sqlite;
  std::string external_redis_url;  // when store == external_redis
  // `lab --data postgres`: the records (accounts, carts, orders, jobs, rooms) in a PostgreSQL the
  // lab starts, sessions in `store`. false: everything in `store`.
  bool postgres_data = false;
  int near_cache_entries = 0;      // > 0: [state] near_cache_entries in every server's config
  int access_token_s = 5;          // auth.access_ttl_s for a mode whose users carry tokens
  int servers = 3;
  std::string session_key_hex;     // shared by every server: the secret a deployment would share
  // The jobs workload (a scenario's `jobs = true`): short job leases, a slow receipt and the
  // scheduled task the tick ledger reads, in every server's config (kJobs* below).
  bool jobs_workload = false;
  // The game journey runs (a scenario's `game` share): the servers serve rooms ([actors], the
  // mode's Game) and the gateway routes by the mode's game policy (ModeSpec::game_policy).
  bool game_workload = false;
  // `lab --gateways N`: N gateway processes in front of the same servers (1..8).
  int gateways = 1;
  // `lab --registry etcd`: a 3-member etcd on loopback is the truth. Servers register themselves
  // (lease kRegistryTtlS), gateways watch it, each through its own FaultProxy per etcd member (so
  // a fault can cut or slow one gateway's view), and the cluster no longer adds or removes
  // servers through the admin API. false: the admin API, sent to every gateway, as before.
  bool registry = false;
  std::filesystem::path etcd_binary = "/usr/bin/etcd";
  // The gateways (1-based) whose users reach them through a FaultProxy, for a network fault on
  // "users/gateway N" (gateways_with_user_links); the others are reached directly, as before.
  std::vector<int> user_links;
  // Every server is fronted by a FaultProxy and the gateways know it by the proxy's address (the
  // registry's advertised address, the admin API's), for a network fault on "gateways/server N".
  bool server_links = false;
  // Every server reaches the store through proxies of its own, one per store process it uses (the
  // private redis-server, PostgreSQL), for a network fault on "servers/store" or "server N/store".
  // Only a store the lab starts and reaches over TCP has one (check_scenario_fits refuses the
  // others); a server started later (a restart, a deploy, a scale-out) gets fresh ones.
  bool store_links = false;
};

// What a network fault does to a link's proxies while it lasts (lab/fault_proxy.hpp's knobs).
struct LinkFault {
  std::chrono::milliseconds latency{0};
  int loss_percent = 0;
  bool partitioned = false;
};

// The registry settings the lab runs with: a short lease, so a dead server leaves the truth
// within a short run; a poll that bounds a missed notification; a short deregistration delay.
inline constexpr int kRegistryTtlS = 2;
inline constexpr int kRegistryPollMs = 200;
inline constexpr int kRegistryTimeoutMs = 500;
inline constexpr int kDeregisterDelayMs = 300;
inline constexpr int kEtcdMembers = 3;

// A server the lab stopped, from when (lab ms) and, when it came back at the same address, until when.
struct Absence {
  std::string address;
  std::int64_t from_ms = 0;
  std::optional<std::int64_t> until_ms;
};

// The jobs workload's settings, written into every server's config when it runs: a lease short
// enough for a hang to outlast it within a short run, a receipt slow enough for a fault to land
// while it is being made, and a task ticking every second.
inline constexpr std::int64_t kJobLeaseMs = 1000;
inline constexpr std::int64_t kReceiptRenderMs = 500;
inline constexpr std::int64_t kTickPeriodMs = 1000;
inline constexpr char kTickTask[] = "sales-summary";


// Something the cluster did, for the timeline: kind ("kill", "restart", ...) and detail.
using EventSink = std::function<void(std::string kind, std::string detail)>;

class Cluster {
 public:
  Cluster(boost::asio::any_io_executor executor, ClusterSettings settings, EventSink events);
  ~Cluster();
  Cluster(Cluster const&) = delete;
  Cluster& operator=(Cluster const&) = delete;

  // Starts the store, the servers and the gateway, and waits until the gateway sees every server
  // up. Throws ClusterError.
  boost::asio::awaitable<void> start();

  // The port users reach the first gateway on (its proxy's when it has one).
  std::uint16_t gateway_port() const { return users_port_of(*gateways_.front()); }
  // Every gateway's port for users, in gateway order (a killed one's included: it may come back);
  // a gateway behind a users' proxy is reached through it.
  std::vector<std::uint16_t> gateway_ports() const;
  int gateway_count() const { return static_cast<int>(gateways_.size()); }
  bool has_registry() const { return etcd_ != nullptr; }
  int server_count() const { return static_cast<int>(servers_.size()); }
  bool store_is_a_process() const { return settings_.store == StoreKind::private_redis; }

  // The faults. `position` is 1-based among the running servers. Each emits its events and
  // returns when the fault has fully played out (a hang has been resumed, a deploy finished).
  // A kill returns false when it was not sent: JobAim::required and no receipt job in flight.
  boost::asio::awaitable<bool> kill_server(int position, std::optional<std::int64_t> restart_after_ms,
                                           JobAim aim = JobAim::none);
  // A hang returns false when it was not sent (as a kill) or ended early: with `may_thaw`, a
  // server frozen while holding the embedded store's write lock (which stalls every server, not
  // its lease: sqlite_lock_probe.hpp) is thawed at once, for the caller to aim again.
  boost::asio::awaitable<bool> hang_server(int position, std::int64_t lasting_ms, bool may_thaw,
                                           JobAim aim = JobAim::none);
  boost::asio::awaitable<void> rolling_deploy();
  boost::asio::awaitable<void> scale_out(int count);
  boost::asio::awaitable<void> scale_in(int count);
  boost::asio::awaitable<void> restart_store();
  // The scale-out stores' faults (docs/STATE.md says what each may lose). kill-redis-master: the
  // first live master by port; with restart_after_ms it is started again and rejoins as a
  // replica. restart-postgres: a fast shutdown, then started again; the lab keeps running meanwhile.
  boost::asio::awaitable<void> kill_redis_master(std::optional<std::int64_t> restart_after_ms);
  boost::asio::awaitable<void> restart_postgres();
  // The truth faults (docs/LAB.md). `position` is 1-based among the gateways. A kill of a gateway
  // returns once it is back (or at once without restart_after_ms); a partition or a slow link
  // returns at once and heals in the background after `lasting_ms` (wait_background_faults()).
  boost::asio::awaitable<void> kill_gateway(int position, std::optional<std::int64_t> restart_after_ms);
  void partition_registry(int position, std::int64_t lasting_ms);
  void slow_registry(int position, std::int64_t latency_ms, std::int64_t lasting_ms);
  boost::asio::awaitable<void> kill_etcd_leader(std::optional<std::int64_t> restart_after_ms);
  // The network faults: `fault` on the link for `lasting_ms`, healed in the background. The users'
  // link of gateway `gateway` (it must be among ClusterSettings::user_links) or its links to
  // every etcd member (a partition there also counts it cut off, as partition-registry does).
  void fault_users_link(int gateway, LinkFault fault, std::int64_t lasting_ms);
  void fault_registry_link(int gateway, LinkFault fault, std::int64_t lasting_ms);
  // `position` is 1-based among the running servers (ClusterSettings::server_links must be set).
  void fault_server_link(int position, LinkFault fault, std::int64_t lasting_ms);
  // The links to the store (ClusterSettings::store_links must be set) of the server at `position`
  // (1-based among the running servers), or of every running server when nullopt. A server started
  // while the fault lasts gets undisturbed links of its own.
  void fault_store_link(std::optional<int> position, LinkFault fault, std::int64_t lasting_ms);
  bool background_faults_pending() const { return background_faults_ > 0; }

  // Each gateway's /metrics page, in gateway order; nullopt for one that does not answer (dead).
  boost::asio::awaitable<std::vector<std::optional<std::string>>> gateway_pages();
  // Every gateway's outboard_gateway_registry_convergence_seconds merged, killed ones included
  // (read just before they were killed).
  boost::asio::awaitable<Histogram> convergence();
  // The servers the lab stopped and when (a kill, a retirement), for "routed to servers already gone".
  std::vector<Absence> const& absences() const { return absences_; }

  // How many times the gateways retried a request on another server so far (their /metrics,
  // killed ones included).
  boost::asio::awaitable<std::int64_t> gateway_retries();
  // Requests the servers answered from an idempotency record so far: the running servers' /metrics
  // plus what each stopped one said just before it was stopped (a kill -9 included: the lab
  // reads it first, as a scrape would have).
  boost::asio::awaitable<std::int64_t> idempotency_replays();

  // The position (1-based) of a server that has just started a receipt job: none in flight at a
  // first look, some at a second `apart` later (its /metrics, outboard_jobs_in_flight). Its job
  // began since the first look, so a fault aimed now (JobAim: the third look, of this server
  // alone, right before the signal) lands early in it. nullopt when no server is.
  boost::asio::awaitable<std::optional<int>> server_starting_a_job(std::chrono::milliseconds apart);
  boost::asio::awaitable<JobCounters> job_counters();
  // `outboard jobs ticks --store <the servers' store> --task <task> --json`, run as a child
  // process; its answer, or nullopt (with why in `problem`) when it failed or said nothing usable.
  boost::asio::awaitable<std::optional<std::string>> tick_log(std::string task, std::string* problem);

  // SIGKILLs everything, servers and gateway first, and reaps it. Idempotent.
  void teardown();

 private:
  // The [auth] lines of serve.toml for a mode whose users carry tokens (and their key files,
  // written now); "" for the cookie designs.
  std::string token_settings() const;
  // The [realtime] lines of serve.toml for the mode's design ("" for serve's defaults).
  std::string realtime_settings() const;
  // The [jobs], [shop] and [[schedule]] lines of serve.toml for the mode's design and workload.
  std::string jobs_settings() const;
  std::string actors_settings() const;
  // The gateway's pool.policy and pool.hash_key lines for this run.
  std::string policy_settings() const;
  struct Server {
    std::string id;
    std::uint16_t port = 0;
    std::filesystem::path blob_dir;
    std::unique_ptr<ChildProcess> process;
    std::unique_ptr<FaultProxy> front;  // server_links: the gateways reach it through this
    // store_links: it reaches the private redis-server, and PostgreSQL, through these (null when
    // the run has no such store or no store link fault).
    std::unique_ptr<FaultProxy> redis_link;
    std::unique_ptr<FaultProxy> postgres_link;
  };
  // The address the gateways know a server by: its front proxy's when it has one.
  static std::string gateway_address(Server const& server);

  struct Gateway {
    int number = 0;  // 1-based
    std::uint16_t port = 0;
    std::uint16_t admin_port = 0;
    std::unique_ptr<ChildProcess> process;
    std::vector<std::unique_ptr<FaultProxy>> etcd_links;  // one per etcd member, registry runs only
    bool cut_off = false;                                 // partition-registry in force
    std::unique_ptr<FaultProxy> users_link;               // users reach it through this, when asked for
  };

  boost::asio::awaitable<void> start_store();
  boost::asio::awaitable<void> start_etcd();
  boost::asio::awaitable<void> start_gateways();
  // Writes gateway-<n>.toml (the running servers as static backends without a registry) and
  // starts the gateway on its ports; waits until it answers and sees every server up.
  boost::asio::awaitable<void> launch_gateway(Gateway& gateway);
  Gateway& gateway_at(int position);
  std::string gateway_config(Gateway const& gateway) const;
  // Reads what a gateway about to die counted (retries, convergence), as a scrape would have.
  boost::asio::awaitable<void> keep_counts_of(Gateway const& gateway);
  static std::uint16_t users_port_of(Gateway const& gateway) {
    return gateway.users_link ? gateway.users_link->port() : gateway.port;
  }
  // The proxies a fault acts on, looked up again when it heals: a server's proxies go with it
  // (stopped for good, or replaced by a new process with new links), so none is kept across a wait.
  using LinkLookup = std::function<std::vector<FaultProxy*>()>;
  // Sets `fault` on the proxies, and clears it from them after lasting_ms in the background
  // (`gateway` is no longer cut off then), emitting the fault's action now and "heal-link" then.
  // With `relook` the proxies to heal are looked up again at healing (servers' proxies).
  void disturb(std::vector<FaultProxy*> links, LinkFault fault, std::int64_t lasting_ms, Gateway* gateway,
               std::string link_name, LinkLookup relook = {});
  boost::asio::awaitable<void> heal_after(std::vector<FaultProxy*> links, std::int64_t lasting_ms, Gateway* gateway,
                                          std::string kind, std::string detail, LinkLookup relook = {});
  // The front proxy of running server `id`, or none (it is gone, or not fronted).
  std::vector<FaultProxy*> front_of(std::string const& id) const;
  // The store proxies of running server `id` (empty: none), or of every running server ("").
  std::vector<FaultProxy*> store_links_of(std::string const& id) const;
  // Starts the store proxies of a server about to be launched (ClusterSettings::store_links).
  void open_store_links(Server& server);
  void server_stopped(std::string const& address);
  void server_back(std::string const& address);
  // Starts server `id` on `port` (0: a free one) and waits for /readyz.
  // With server_links it is fronted by `front` (a new proxy when null, as for a new server).
  boost::asio::awaitable<std::unique_ptr<Server>> launch_server(std::string id, std::uint16_t port,
                                                              std::filesystem::path blob_dir,
                                                              std::unique_ptr<FaultProxy> front = nullptr);
  // A new server, started, added to the gateway, and seen up by it.
  boost::asio::awaitable<std::unique_ptr<Server>> join_new_server();
  boost::asio::awaitable<void> relaunch_in_place(Server& server);
  boost::asio::awaitable<void> retire_server(std::unique_ptr<Server> server);
  // The same admin call to every running gateway.
  boost::asio::awaitable<void> admin(boost::beast::http::verb method, std::string target, std::string body);
  // A request to the gateway's admin API: bearer token and Content-Type: application/json.
  Call admin_call(boost::beast::http::verb method, std::string target, std::string body) const;
  std::filesystem::path admin_token_file() const { return settings_.work_dir / "gateway-admin.token"; }
  // Every running gateway sees the backend up; with a registry, the gateways cut off from it are
  // not waited for (their truth is stale by design).
  boost::asio::awaitable<void> wait_backend_up(std::string address);
  boost::asio::awaitable<void> wait_backend_up_on(Gateway const& gateway, std::string address);
  // Adds a server's replay and job counts to what the stopped ones said, before it stops.
  boost::asio::awaitable<void> keep_replays_of(Server const& server);
  void keep_counts_of(std::string const& metrics_page);
  // Whether a fault aimed with `aim` goes ahead now (a "target" event when it goes ahead blind).
  bool aim_holds(Server const& server, JobAim aim, std::optional<std::string> const& metrics_page);
  // The ids of the servers whose /metrics show a receipt job in flight now.
  boost::asio::awaitable<std::vector<std::string>> ids_running_jobs();
  std::vector<std::string> server_argv(Server const& server) const;
  // What the servers get as --state (sessions, and the data unless --data) and --data: the
  // stores' own addresses (for the lab's own reads), and a server's, through its store proxies.
  std::string state_url() const;
  std::string data_url() const;
  std::filesystem::path embedded_store_file() const;  // the sqlite store's file
  boost::asio::awaitable<bool> frozen_holding_the_store_lock(pid_t pid, std::int64_t lasting_ms);
  std::string state_url_of(Server const& server) const;
  std::string data_url_of(Server const& server) const;
  void start_engines();  // blocking, bounded: before any user starts
  void stop_postgres();
  std::string next_server_id();
  std::filesystem::path fresh_blob_dir(std::string const& id) const;
  std::size_t index_of(int position) const;

  boost::asio::any_io_executor executor_;
  ClusterSettings settings_;
  EventSink events_;
  std::unique_ptr<ChildProcess> store_;
  std::uint16_t store_port_ = 0;
  std::unique_ptr<RedisClusterEngine> redis_cluster_;  // --store redis-cluster
  std::unique_ptr<PostgresEngine> postgres_;           // --data postgres
  std::filesystem::path postgres_dir_;                 // its own temp dir (the postgres user must enter it)
  std::vector<std::unique_ptr<Server>> servers_;
  std::vector<std::unique_ptr<Gateway>> gateways_;
  std::unique_ptr<EtcdCluster> etcd_;
  int background_faults_ = 0;
  std::int64_t retries_of_stopped_gateways_ = 0;
  Histogram convergence_of_stopped_gateways_;
  std::vector<Absence> absences_;
  std::string admin_token_;  // the gateway's admin API bearer token, made per run
  int servers_started_ = 0;
  std::int64_t replays_of_stopped_ = 0;
  JobCounters jobs_of_stopped_;
};

}  // namespace outboard::lab
