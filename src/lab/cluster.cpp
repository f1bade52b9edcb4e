#include "lab/cluster.hpp"

#include <signal.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>

#include "auth/jwt_key_pem.hpp"
#include "core/random.hpp"
#include "core/secret_file.hpp"
#include "lab/metrics_text.hpp"
#include "lab/process_wait.hpp"
#include "lab/sqlite_lock_probe.hpp"
#include "lab/user_agent.hpp"
#include "lab/virtual_user.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using core::use_nothrow;
using verb = boost::beast::http::verb;

constexpr std::int64_t kServerDrainMs = 2000;

std::string address_of(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// The hashed design keys its consistent hash on the device each virtual user names.
std::string hash_key_setting(std::string const& policy) {
  if (policy != "consistent_hash") return "";
  return fmt::format("hash_key = \"header:{}\"\n", kDeviceHeader);
}

// A gateway's config and log file, without extension: the first is "gateway" (as with one
// gateway), the others "gateway-2", "gateway-3", ...
std::string gateway_file_name(int number) { return number == 1 ? "gateway" : "gateway-" + std::to_string(number); }

void write_file(std::filesystem::path const& path, std::string const& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw ClusterError("cannot write " + path.string());
}

// One GET; true for a 200.
// A 200 from the port; with `instance`, only from that server (its X-Served-By): a free port
// can be taken by another process between our look and our server's bind, and that process
// (another lab's server) must not pass for ours.
asio::awaitable<bool> answers_ok(std::uint16_t port, std::string target, std::string instance = {}) {
  UserAgent agent(co_await asio::this_coro::executor, port, 1000ms);
  Call call;
  call.target = std::move(target);
  Reply reply = co_await agent.send(call);
  co_return reply.status == 200 && (instance.empty() || reply.served_by == instance);
}

// One PING over a fresh connection; true only for +PONG (a redis still loading answers -LOADING).
asio::awaitable<bool> redis_answers_ping(std::uint16_t port) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  asio::ip::tcp::endpoint where(asio::ip::address_v4::loopback(), port);
  auto [cec] = co_await socket.async_connect(where, use_nothrow);
  if (cec) co_return false;
  static constexpr std::string_view kPing = "*1\r\n$4\r\nPING\r\n";
  auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(kPing), use_nothrow);
  if (wec) co_return false;
  std::array<char, 7> got{};
  auto [rec, rn] = co_await asio::async_read(socket, asio::buffer(got), use_nothrow);
  co_return !rec && std::string_view(got.data(), rn) == "+PONG\r\n";
}

constexpr std::string_view kReplaysSeries = "outboard_idempotency_requests_total{outcome=\"replayed\"}";

// A "mid-job" fault is aimed at a receipt being made, never at a tick: a tick's job takes a few
// ms, so one seen in flight is most likely done before the signal lands (a hang that froze a
// server between jobs passed for one that froze a job: CI, locked mode, no stale write).
// A frozen server holds the embedded store's write lock when a probe, trying every 20 ms, never
// gets it in 1 s (or a third of the hang): any other holder lets go within milliseconds.
constexpr std::chrono::milliseconds kStoreLockProbe{1000};
constexpr std::chrono::milliseconds kStoreLockProbeEvery{20};
constexpr int kStoppedLooks = 40;  // kPollEvery apart: 1 s for every thread of a SIGSTOPped server to stop
constexpr std::string_view kReceiptsInFlightSeries = "outboard_jobs_in_flight{type=\"receipt\"}";
// Families with a sample per job type (outboard serve's jobs metrics, docs/JOBS.md).
constexpr std::string_view kFencedRefusedSeries = "outboard_jobs_fenced_writes_refused_total";
constexpr std::string_view kLeaseLossesSeries = "outboard_jobs_lease_losses_total";
constexpr std::string_view kConvergenceSeries = "outboard_gateway_registry_convergence_seconds";

// A metrics page; nullopt when it cannot be read.
asio::awaitable<std::optional<std::string>> read_metrics(asio::any_io_executor executor, std::uint16_t port, Call call) {
  UserAgent agent(executor, port, 2000ms);
  Reply reply = co_await agent.send(call);
  if (!reply.ok()) co_return std::nullopt;
  co_return std::move(reply.body);
}

// One series' value from a metrics page; nullopt when the page cannot be read or has no such line.
asio::awaitable<std::optional<std::int64_t>> read_counter(asio::any_io_executor executor, std::uint16_t port,
                                                          Call call, std::string_view series) {
  auto page = co_await read_metrics(std::move(executor), port, std::move(call));
  if (!page) co_return std::nullopt;
  co_return series_value(*page, series);
}

// Named before each co_await that takes it (the g++ 12 coroutine bug, src/core/offload.hpp).
Call server_metrics_call() {
  Call call;
  call.target = "/metrics";
  return call;
}

}  // namespace

Cluster::Cluster(asio::any_io_executor executor, ClusterSettings settings, EventSink events)
    : executor_(std::move(executor)), settings_(std::move(settings)), events_(std::move(events)) {}

Cluster::~Cluster() { teardown(); }

void Cluster::teardown() {
  for (auto& g : gateways_) {
    if (g->process) g->process->kill_now();
    for (auto& link : g->etcd_links) link->stop();
    if (g->users_link) g->users_link->stop();  // its accept loop would keep the lab's event loop running
  }
  for (auto& s : servers_) {
    if (s->process) s->process->kill_now();
    for (auto* link : {s->front.get(), s->redis_link.get(), s->postgres_link.get()}) {
      if (link) link->stop();
    }
  }
  if (store_) store_->kill_now();
  redis_cluster_.reset();  // SIGKILLs every node
  stop_postgres();
  if (etcd_) {
    for (int m = 0; m < etcd_->size(); ++m) etcd_->kill(m);
  }
}

std::string Cluster::gateway_address(Server const& server) {
  return address_of(server.front ? server.front->port() : server.port);
}

std::vector<std::uint16_t> Cluster::gateway_ports() const {
  std::vector<std::uint16_t> ports;
  for (auto const& g : gateways_) ports.push_back(users_port_of(*g));
  return ports;
}

void Cluster::server_stopped(std::string const& address) { absences_.push_back({address, lab_now_ms(), std::nullopt}); }

void Cluster::server_back(std::string const& address) {
  for (auto& a : absences_) {
    if (a.address == address && !a.until_ms) a.until_ms = lab_now_ms();
  }
}

std::string Cluster::state_url() const {
  switch (settings_.store) {
    case StoreKind::sqlite: return "sqlite://" + embedded_store_file().string();
    case StoreKind::private_redis: return "redis://127.0.0.1:" + std::to_string(store_port_) + "/0";
    case StoreKind::external_redis: return settings_.external_redis_url;
    case StoreKind::private_redis_cluster: return redis_cluster_ ? redis_cluster_->url() : std::string();
  }
  return {};
}

std::filesystem::path Cluster::embedded_store_file() const { return settings_.work_dir / "state.db"; }

std::string Cluster::data_url() const {
  if (postgres_) return postgres_->url();
  return state_url();
}

namespace {

// `url` (one the lab made, naming 127.0.0.1:store_port) with the port of `link` instead, when
// there is a link.
std::string through(FaultProxy const* link, std::string url, std::uint16_t store_port) {
  if (!link) return url;
  std::string const direct = address_of(store_port);
  auto at = url.find(direct);
  if (at == std::string::npos) throw ClusterError("no " + direct + " in a store URL the lab made: cannot proxy it");
  return url.replace(at, direct.size(), address_of(link->port()));
}

}  // namespace

std::string Cluster::state_url_of(Server const& server) const {
  return through(server.redis_link.get(), state_url(), store_port_);
}

std::string Cluster::data_url_of(Server const& server) const {
  if (!postgres_) return state_url_of(server);
  return through(server.postgres_link.get(), postgres_->url(), postgres_->port());
}

void Cluster::open_store_links(Server& server) {
  if (!settings_.store_links) return;
  // Seeds apart from the other proxies' (only a loss fault draws from them).
  auto seed = FaultProxy::kDefaultSeed + 300 + static_cast<std::uint32_t>(2 * servers_started_);
  if (settings_.store == StoreKind::private_redis) {
    server.redis_link = std::make_unique<FaultProxy>(executor_, "127.0.0.1", store_port_, seed);
    server.redis_link->start();
  }
  if (postgres_) {
    server.postgres_link = std::make_unique<FaultProxy>(executor_, "127.0.0.1", postgres_->port(), seed + 1);
    server.postgres_link->start();
  }
}

std::string Cluster::next_server_id() { return "s" + std::to_string(++servers_started_); }

std::filesystem::path Cluster::fresh_blob_dir(std::string const& id) const {
  // A server with its own disk gets a new, empty one: a replacement is a new machine.
  if (settings_.mode.blobs_on_local_disk) return settings_.work_dir / ("uploads-" + id);
  return settings_.work_dir / "uploads";
}

std::vector<std::string> Cluster::server_argv(Server const& server) const {
  std::vector<std::string> argv = settings_.server_command;
  if (argv.empty()) argv.push_back(settings_.outboard_binary.string());
  argv.insert(argv.end(), {"serve", "--config", (settings_.work_dir / "serve.toml").string(), "--port",
                           std::to_string(server.port), "--instance", server.id, "--state", state_url_of(server),
                           "--blobs", "file://" + server.blob_dir.string(), "--session-keys-file",
                           (settings_.work_dir / "session-keys").string()});
  if (postgres_) argv.insert(argv.end(), {"--data", data_url_of(server)});
  if (settings_.mode.sessions_in_memory) {
    argv.emplace_back("--sessions");
    argv.emplace_back("memory://");
  }
  if (etcd_) {
    // Servers reach etcd directly: the faults cut gateways' views, not the servers' leases.
    argv.insert(argv.end(), {"--registry", etcd_->url(), "--registry-ttl-s", std::to_string(kRegistryTtlS),
                             "--registry-timeout-ms", std::to_string(kRegistryTimeoutMs),
                             "--registry-deregister-delay-ms", std::to_string(kDeregisterDelayMs)});
    // Fronted: the gateways must reach it through its proxy, so that is the address it registers.
    if (server.front) argv.insert(argv.end(), {"--registry-advertise", gateway_address(server)});
  }
  return argv;
}

std::string Cluster::token_settings() const {
  if (!settings_.mode.tokens) return "";
  // A fresh Ed25519 signing key and refresh key for this run, shared by every server as a
  // deployment shares them, in 0600 files (never on a command line, never committed).
  auto key = auth::generate_key(auth::JwsAlg::eddsa, "lab-1");
  if (!key) throw ClusterError("could not make the run's token signing key: " + key.error().describe());
  auto pem = auth::private_key_text(*key);
  if (!pem) throw ClusterError("could not write the run's token signing key: " + pem.error().describe());
  auto signing = settings_.work_dir / "token-signing.pem";
  auto refresh = settings_.work_dir / "refresh-key";
  std::filesystem::remove(signing);
  std::filesystem::remove(refresh);
  if (!core::create_secret_file(signing, *pem) ||
      !core::create_secret_file(refresh, core::hex_encode(core::random_bytes(32)))) {
    throw ClusterError("could not write the token key files in " + settings_.work_dir.string());
  }
  // Short-lived access tokens (5 s by default), so every user refreshes in a run, faults included.
  return fmt::format(
      "mode = \"jwt\"\nsigning_key_file = \"{}\"\nsigning_alg = \"EdDSA\"\nsigning_kid = \"lab-1\"\n"
      "refresh_key_file = \"{}\"\naccess_ttl_s = {}\n",
      signing.string(), refresh.string(), settings_.access_token_s);
}

std::string Cluster::jobs_settings() const {
  std::string out;
  switch (settings_.mode.jobs) {
    case Jobs::fenced: break;  // serve's defaults: the queue in the store, fenced commits
    case Jobs::lease_unfenced: out += "queue = \"store\"\nfencing = false\n"; break;
    case Jobs::in_process: out += "queue = \"memory\"\nfencing = false\n"; break;
  }
  if (settings_.jobs_workload) out += fmt::format("lease_ms = {}\n", kJobLeaseMs);
  if (out.empty()) return out;
  out = "[jobs]\nenabled = true\n" + out;
  if (!settings_.jobs_workload) return out;
  return out + fmt::format("[shop]\nreceipt_render_ms = {}\n[[schedule]]\ntask = \"{}\"\nevery = \"{}ms\"\nmissed = \"skip\"\n",
                           kReceiptRenderMs, kTickTask, kTickPeriodMs);
}

// Checkpoints every 2 s: the bound the actors design is judged by (kCheckpointedLossBoundMs).
std::string Cluster::actors_settings() const {
  if (!settings_.game_workload) return "";
  return fmt::format("[actors]\nenabled = true\nmode = \"{}\"\ncheckpoint_interval_ms = 2000\n",
                     to_string(settings_.mode.game));
}

// A game run routes as the design's game does: in sticky and hashed, a room's players meet on one
// server by a hash of the path (the shop's cookie or device header means nothing to a room).
std::string Cluster::policy_settings() const {
  if (!settings_.game_workload) {
    return fmt::format("policy = \"{}\"\n{}", settings_.mode.policy, hash_key_setting(settings_.mode.policy));
  }
  std::string key = settings_.mode.game_hash_key.empty()
                        ? std::string()
                        : fmt::format("hash_key = \"{}\"\n", settings_.mode.game_hash_key);
  return fmt::format("policy = \"{}\"\n{}", settings_.mode.game_policy, key);
}

std::string Cluster::realtime_settings() const {
  switch (settings_.mode.realtime) {
    // A broadcast inside each server: what a stateful WebSocket tier does.
    case Realtime::in_process: return "[realtime]\nurl = \"memory://\"\n";
    // Through the store, fire-and-forget: live fan-out only.
    case Realtime::pubsub: return "[realtime]\nresume = false\n";
    case Realtime::resumable: return "";
  }
  return "";
}

asio::awaitable<void> Cluster::start() {
  std::filesystem::create_directories(settings_.work_dir);
  // What every server shares: small thread counts (the lab shares the machine with the whole
  // cluster), the cheapest password hashing (sign-ups are not what is measured), and a short
  // idempotency lease, so a retry after a crash need not wait 30 s for a dead server's claim.
  // The lab's hundreds of users all come from 127.0.0.1 through one gateway and sign up at once:
  // no per-address sign-up limit and a deep KDF queue, or the lab would measure its own throttle.
  // Failed-login limits stay at their defaults (an honest virtual user never fails a login).
  write_file(settings_.work_dir / "serve.toml",
             "[server]\nthreads = 1\ndrain_timeout_ms = " + std::to_string(kServerDrainMs) +
                 "\n[auth]\nkdf = \"min\"\nkdf_queue = 10000\n" + token_settings() +
                 "[throttle]\nsignups_per_client = 0\n"
                 "[idempotency]\nlease_s = 2\nenabled = " + (settings_.mode.deduplicates ? "true" : "false") +
                 "\n[log]\nlevel = \"warn\"\n" + realtime_settings() +
                 (settings_.near_cache_entries > 0
                      ? "[state]\nnear_cache_entries = " + std::to_string(settings_.near_cache_entries) + "\n"
                      : std::string()) +
                 jobs_settings() + actors_settings());
  // The signing key goes to the servers in a 0600 file, never on their command lines.
  auto keys_file = settings_.work_dir / "session-keys";
  std::filesystem::remove(keys_file);
  core::create_secret_file(keys_file, settings_.session_key_hex);
  co_await start_store();
  start_engines();
  // check_scenario_fits refuses such a run first; this is for a caller that did not ask it.
  if (settings_.store_links && settings_.store != StoreKind::private_redis && !postgres_) {
    throw ClusterError("a fault on the servers' link to the store needs a store the lab starts and reaches over TCP: "
                       "--store redis or --data postgres");
  }
  co_await start_etcd();
  for (int i = 0; i < settings_.servers; ++i) {
    std::string id = next_server_id();
    auto blob_dir = fresh_blob_dir(id);
    auto server = co_await launch_server(id, 0, blob_dir);
    servers_.push_back(std::move(server));
  }
  co_await start_gateways();
}

asio::awaitable<void> Cluster::start_etcd() {
  if (!settings_.registry) co_return;
  if (!std::filesystem::exists(settings_.etcd_binary)) {
    throw ClusterError(settings_.etcd_binary.string() + " is missing: install Debian's etcd-server (scripts/setup.sh)");
  }
  auto dir = settings_.work_dir / "etcd";
  std::filesystem::create_directories(dir);
  etcd_ = std::make_unique<EtcdCluster>(dir, kEtcdMembers, settings_.etcd_binary);
  co_await etcd_->start();
}

asio::awaitable<void> Cluster::start_store() {
  if (settings_.store != StoreKind::private_redis) co_return;
  if (!std::filesystem::exists(settings_.redis_server)) {
    throw ClusterError(settings_.redis_server.string() + " is missing: install Debian's redis-server (scripts/setup.sh)");
  }
  if (store_port_ == 0) store_port_ = free_port();
  auto dir = settings_.work_dir / "redis";
  std::filesystem::create_directories(dir);
  // Every write is fsynced before redis answers, so a kill -9 of the store loses nothing that
  // was acknowledged: what the lab measures is the design, not a cache configuration.
  std::vector<std::string> argv{settings_.redis_server.string(), "--port", std::to_string(store_port_), "--bind",
                                "127.0.0.1", "--dir", dir.string(), "--save", "", "--appendonly", "yes",
                                "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no"};
  store_ = std::make_unique<ChildProcess>(argv, settings_.work_dir / "redis.log");
  std::uint16_t port = store_port_;
  auto probe = [port]() { return redis_answers_ping(port); };
  std::string what = "redis-server on port " + std::to_string(port);
  co_await wait_ready(what, *store_, probe);
}

asio::awaitable<std::unique_ptr<Cluster::Server>> Cluster::launch_server(std::string id, std::uint16_t port,
                                                                         std::filesystem::path blob_dir,
                                                                         std::unique_ptr<FaultProxy> front) {
  std::filesystem::create_directories(blob_dir);
  bool fixed_port = port != 0;
  for (int attempt = 1;; ++attempt) {
    auto server = std::make_unique<Server>();
    server->id = id;
    server->port = fixed_port ? port : free_port();
    server->blob_dir = blob_dir;
    if (settings_.server_links) {
      if (!front) {
        front = std::make_unique<FaultProxy>(executor_, "127.0.0.1", server->port,
                                             FaultProxy::kDefaultSeed + 200 + static_cast<std::uint32_t>(servers_started_));
        front->start();
      }
      server->front = std::move(front);
    }
    open_store_links(*server);
    server->process = std::make_unique<ChildProcess>(server_argv(*server), settings_.work_dir / (id + ".log"));
    std::uint16_t p = server->port;
    auto probe = [p, id]() { return answers_ok(p, "/readyz", id); };
    std::string what = "outboard serve " + id + " on port " + std::to_string(p);
    try {
      co_await wait_ready(what, *server->process, probe);
      co_return server;
    } catch (ClusterError const&) {
      // Someone took the free port between our look and the server's bind: try another.
      bool port_taken = log_tail(server->process->log_file()).find("in use") != std::string::npos;
      if (fixed_port || !port_taken || attempt >= 3) throw;
      server->front.reset();  // it led to the port that was taken; the next attempt gets its own
    }
  }
}

std::string Cluster::gateway_config(Gateway const& gateway) const {
  std::string backends;
  if (!etcd_) {
    for (auto const& s : servers_) backends += (backends.empty() ? "\"" : ", \"") + gateway_address(*s) + "\"";
  }
  std::string registry;
  if (etcd_) {
    // The gateway's own links to the etcd members: a fault on them is a fault on its view alone.
    std::string url = "etcd://";
    for (std::size_t m = 0; m < gateway.etcd_links.size(); ++m) {
      url += (m == 0 ? "" : ",") + address_of(gateway.etcd_links[m]->port());
    }
    registry = fmt::format("[registry]\nurl = \"{}\"\npoll_ms = {}\ntimeout_ms = {}\n", url, kRegistryPollMs,
                           kRegistryTimeoutMs);
  }
  // Health checks on /readyz, so a draining or store-less server leaves rotation (tolerant
  // enough that a busy machine does not eject a healthy server: 3 misses of 1 s); retries for
  // what is safe; a hung server is given up on after 1.5 s without a first byte.
  return fmt::format(
      "listen = \"{}\"\nthreads = 1\ndrain_timeout_ms = 1000\n"
      "[admin]\nlisten = \"{}\"\ntoken_file = \"{}\"\n"
      "[pool]\nbackends = [{}]\n{}"
      "[health]\npath = \"/readyz\"\ninterval_ms = 200\ntimeout_ms = 1000\nrise = 1\nfall = 3\n"
      "[timeouts]\nconnect_ms = 500\nfirst_byte_ms = 1500\n"
      "[retries]\nmax_attempts = 3\n"
      "[log]\nlevel = \"warn\"\n{}",
      address_of(gateway.port), address_of(gateway.admin_port), admin_token_file().string(), backends,
      policy_settings(), registry);
}

asio::awaitable<void> Cluster::start_gateways() {
  // The admin API needs a bearer token: the lab writes it (0600) where the gateways read it.
  admin_token_ = core::hex_encode(core::random_bytes(32));
  std::filesystem::remove(admin_token_file());
  core::create_secret_file(admin_token_file(), admin_token_);
  for (int n = 1; n <= std::max(1, settings_.gateways); ++n) {
    auto gateway = std::make_unique<Gateway>();
    gateway->number = n;
    gateway->port = free_port();
    gateway->admin_port = free_port();
    auto const& user_links = settings_.user_links;
    if (std::find(user_links.begin(), user_links.end(), n) != user_links.end()) {
      // Users reach it through this proxy only: a network fault on "users/gateway n" acts here.
      gateway->users_link = std::make_unique<FaultProxy>(executor_, "127.0.0.1", gateway->port,
                                                         FaultProxy::kDefaultSeed + 100 + static_cast<std::uint32_t>(n));
      gateway->users_link->start();
    }
    if (etcd_) {
      for (int m = 0; m < etcd_->size(); ++m) {
        auto link = std::make_unique<FaultProxy>(executor_, "127.0.0.1", etcd_->client_port(m),
                                                 FaultProxy::kDefaultSeed + static_cast<std::uint32_t>(n * 10 + m));
        link->start();
        gateway->etcd_links.push_back(std::move(link));
      }
    }
    gateways_.push_back(std::move(gateway));
    co_await launch_gateway(*gateways_.back());
  }
}

asio::awaitable<void> Cluster::launch_gateway(Gateway& gateway) {
  std::string name = gateway_file_name(gateway.number);
  write_file(settings_.work_dir / (name + ".toml"), gateway_config(gateway));
  std::vector<std::string> argv{settings_.outboard_binary.string(), "gateway", "--config",
                                (settings_.work_dir / (name + ".toml")).string()};
  gateway.process = std::make_unique<ChildProcess>(argv, settings_.work_dir / (name + ".log"));
  std::uint16_t admin = gateway.admin_port;
  auto probe = [admin]() { return answers_ok(admin, "/healthz"); };
  std::string what = fmt::format("outboard gateway {} on port {}", gateway.number, gateway.port);
  co_await wait_ready(what, *gateway.process, probe);
  for (auto const& s : servers_) {
    std::string address = gateway_address(*s);
    co_await wait_backend_up_on(gateway, address);
  }
}

Cluster::Gateway& Cluster::gateway_at(int position) {
  if (position < 1 || position > gateway_count()) {
    throw ClusterError(fmt::format("no gateway at position {} (there are {})", position, gateway_count()));
  }
  return *gateways_[static_cast<std::size_t>(position - 1)];
}

Call Cluster::admin_call(verb method, std::string target, std::string body) const {
  Call call;
  call.method = method;
  call.target = std::move(target);
  call.body = std::move(body);
  call.content_type = "application/json";  // the admin API refuses changes without it
  call.headers.emplace_back("Authorization", "Bearer " + admin_token_);
  return call;
}

asio::awaitable<void> Cluster::admin(verb method, std::string target, std::string body) {
  for (auto const& g : gateways_) {
    if (!g->process || !g->process->running()) continue;  // a killed gateway learns it from its config when it returns
    UserAgent agent(executor_, g->admin_port, 2000ms);
    Call call = admin_call(method, target, body);
    Reply reply = co_await agent.send(call);
    if (!reply.ok()) {
      throw ClusterError(fmt::format("gateway {} admin {} {} answered {} {}{}", g->number,
                                     boost::beast::http::to_string(method), call.target, reply.status, reply.body,
                                     reply.error));
    }
  }
}

asio::awaitable<std::vector<std::optional<std::string>>> Cluster::gateway_pages() {
  std::vector<std::optional<std::string>> pages;
  for (auto const& g : gateways_) {
    if (!g->process || !g->process->running()) {
      pages.emplace_back();
      continue;
    }
    Call call = admin_call(verb::get, "/metrics", "");
    pages.push_back(co_await read_metrics(executor_, g->admin_port, std::move(call)));
  }
  co_return pages;
}

asio::awaitable<std::int64_t> Cluster::gateway_retries() {
  std::int64_t total = retries_of_stopped_gateways_;
  auto pages = co_await gateway_pages();
  for (auto const& page : pages) {
    if (!page) continue;
    auto retries = series_value(*page, "outboard_gateway_retries_total");
    if (!retries) throw ClusterError("a gateway's /metrics has no outboard_gateway_retries_total");
    total += *retries;
  }
  co_return total;
}

asio::awaitable<Histogram> Cluster::convergence() {
  Histogram total = convergence_of_stopped_gateways_;
  auto pages = co_await gateway_pages();
  for (std::size_t g = 0; g < pages.size(); ++g) {
    if (!pages[g]) continue;
    if (auto h = read_histogram(*pages[g], kConvergenceSeries)) merge_histogram(total, *h);
  }
  co_return total;
}

asio::awaitable<void> Cluster::keep_counts_of(Gateway const& gateway) {
  Call call = admin_call(verb::get, "/metrics", "");
  auto page = co_await read_metrics(executor_, gateway.admin_port, std::move(call));
  if (!page) co_return;
  retries_of_stopped_gateways_ += series_value(*page, "outboard_gateway_retries_total").value_or(0);
  if (auto h = read_histogram(*page, kConvergenceSeries)) merge_histogram(convergence_of_stopped_gateways_, *h);
}

asio::awaitable<void> Cluster::kill_gateway(int position, std::optional<std::int64_t> restart_after_ms) {
  Gateway& gateway = gateway_at(position);
  if (!gateway.process || !gateway.process->running()) {
    events_("kill-gateway", fmt::format("gateway {} is already down", gateway.number));
    co_return;
  }
  co_await keep_counts_of(gateway);
  pid_t pid = gateway.process->pid();
  gateway.process->kill_now();
  events_("kill-gateway", fmt::format("kill -9 gateway {} (pid {}){}", gateway.number, pid,
                                      restart_after_ms ? "" : ", not restarted"));
  if (!restart_after_ms) co_return;
  co_await sleep_for(std::chrono::milliseconds(*restart_after_ms));
  co_await launch_gateway(gateway);
  events_("restart-gateway", fmt::format("gateway {} back on port {} (pid {})", gateway.number, gateway.port,
                                         gateway.process->pid()));
}

namespace {

std::vector<FaultProxy*> proxies_of(std::vector<std::unique_ptr<FaultProxy>> const& links) {
  std::vector<FaultProxy*> out;
  for (auto const& link : links) out.push_back(link.get());
  return out;
}

// The scenario action's name, for the timeline's kind.
std::string link_fault_kind(LinkFault const& fault) {
  if (fault.partitioned) return "partition";
  return fault.loss_percent > 0 ? "loss" : "latency";
}

// "+300 ms", "20% of new connections reset", "cut": what a network fault does, for the timeline.
std::string describe_link_fault(LinkFault const& fault) {
  if (fault.partitioned) return "cut";
  if (fault.loss_percent > 0) return fmt::format("{}% of new connections reset", fault.loss_percent);
  return fmt::format("+{} ms", fault.latency.count());
}

}  // namespace

std::vector<FaultProxy*> Cluster::front_of(std::string const& id) const {
  for (auto const& s : servers_) {
    if (s->id == id && s->front) return {s->front.get()};
  }
  return {};
}

std::vector<FaultProxy*> Cluster::store_links_of(std::string const& id) const {
  std::vector<FaultProxy*> links;
  for (auto const& s : servers_) {
    if (!id.empty() && s->id != id) continue;
    if (s->redis_link) links.push_back(s->redis_link.get());
    if (s->postgres_link) links.push_back(s->postgres_link.get());
  }
  return links;
}

asio::awaitable<void> Cluster::heal_after(std::vector<FaultProxy*> links, std::int64_t lasting_ms, Gateway* gateway,
                                          std::string kind, std::string detail, LinkLookup relook) {
  co_await sleep_for(std::chrono::milliseconds(lasting_ms));
  if (relook) links = relook();
  for (auto* link : links) {
    link->set_partitioned(false);
    link->set_latency(0ms);
    link->set_loss_percent(0);
  }
  if (gateway) gateway->cut_off = false;
  events_(kind, detail);
  --background_faults_;
}

void Cluster::disturb(std::vector<FaultProxy*> links, LinkFault fault, std::int64_t lasting_ms, Gateway* gateway,
                      std::string link_name, LinkLookup relook) {
  for (auto* link : links) {
    if (fault.partitioned) link->set_partitioned(true);
    if (fault.latency > 0ms) link->set_latency(fault.latency);
    if (fault.loss_percent > 0) link->set_loss_percent(fault.loss_percent);
  }
  events_(link_fault_kind(fault), fmt::format("{}: {} for {} ms", link_name, describe_link_fault(fault), lasting_ms));
  ++background_faults_;
  asio::co_spawn(executor_,
                 heal_after(std::move(links), lasting_ms, gateway, "heal-link", link_name + " normal again",
                            std::move(relook)),
                 asio::detached);
}

void Cluster::partition_registry(int position, std::int64_t lasting_ms) {
  if (!etcd_) throw ClusterError("partition-registry needs a registry (--registry etcd)");
  Gateway& gateway = gateway_at(position);
  for (auto& link : gateway.etcd_links) link->set_partitioned(true);
  gateway.cut_off = true;
  events_("partition-registry", fmt::format("gateway {} cut from etcd for {} ms", gateway.number, lasting_ms));
  ++background_faults_;
  asio::co_spawn(executor_,
                 heal_after(proxies_of(gateway.etcd_links), lasting_ms, &gateway, "heal-registry",
                            fmt::format("gateway {} reaches etcd normally again", gateway.number)),
                 asio::detached);
}

void Cluster::slow_registry(int position, std::int64_t latency_ms, std::int64_t lasting_ms) {
  if (!etcd_) throw ClusterError("slow-registry needs a registry (--registry etcd)");
  Gateway& gateway = gateway_at(position);
  for (auto& link : gateway.etcd_links) link->set_latency(std::chrono::milliseconds(latency_ms));
  events_("slow-registry",
          fmt::format("gateway {}'s link to etcd +{} ms for {} ms", gateway.number, latency_ms, lasting_ms));
  ++background_faults_;
  asio::co_spawn(executor_,
                 heal_after(proxies_of(gateway.etcd_links), lasting_ms, &gateway, "heal-registry",
                            fmt::format("gateway {} reaches etcd normally again", gateway.number)),
                 asio::detached);
}

void Cluster::fault_users_link(int position, LinkFault fault, std::int64_t lasting_ms) {
  Gateway& gateway = gateway_at(position);
  std::string name = fmt::format("users/gateway {}", gateway.number);
  if (!gateway.users_link) throw ClusterError(name + " has no proxy (the run was not planned with this fault)");
  disturb({gateway.users_link.get()}, fault, lasting_ms, nullptr, name);
}

void Cluster::fault_server_link(int position, LinkFault fault, std::int64_t lasting_ms) {
  Server& server = *servers_[index_of(position)];
  std::string name = fmt::format("gateways/server {} ({})", position, server.id);
  if (!server.front) throw ClusterError(name + " has no proxy (the run was not planned with this fault)");
  LinkLookup relook = [this, id = server.id] { return front_of(id); };
  disturb({server.front.get()}, fault, lasting_ms, nullptr, name, std::move(relook));
}

void Cluster::fault_store_link(std::optional<int> position, LinkFault fault, std::int64_t lasting_ms) {
  std::string id;  // "": every server
  std::string name = "servers/store";
  if (position) {
    id = servers_[index_of(*position)]->id;
    name = fmt::format("server {}/store ({})", *position, id);
  }
  auto links = store_links_of(id);
  if (links.empty()) throw ClusterError(name + " has no proxy (the run was not planned with this fault)");
  LinkLookup relook = [this, id] { return store_links_of(id); };
  disturb(std::move(links), fault, lasting_ms, nullptr, name, std::move(relook));
}

void Cluster::fault_registry_link(int position, LinkFault fault, std::int64_t lasting_ms) {
  Gateway& gateway = gateway_at(position);
  std::string name = fmt::format("gateway {}/registry", gateway.number);
  if (!etcd_) throw ClusterError(name + " needs a registry (--registry etcd)");
  // Cut off: the lab does not wait for this gateway to see a new server (its truth is stale by design).
  if (fault.partitioned) gateway.cut_off = true;
  disturb(proxies_of(gateway.etcd_links), fault, lasting_ms, fault.partitioned ? &gateway : nullptr, name);
}

asio::awaitable<void> Cluster::kill_etcd_leader(std::optional<std::int64_t> restart_after_ms) {
  if (!etcd_) throw ClusterError("kill-etcd-leader needs a registry (--registry etcd)");
  // An election may be going on (a loaded machine misses heartbeats): ask until one is agreed.
  auto deadline = std::chrono::steady_clock::now() + kReadyDeadline;
  auto leader = co_await etcd_->leader();
  while (!leader && std::chrono::steady_clock::now() < deadline) {
    co_await sleep_for(kPollEvery);
    leader = co_await etcd_->leader();
  }
  if (!leader) throw ClusterError("kill-etcd-leader: the etcd members agreed on no leader");
  etcd_->kill(*leader);
  events_("kill-etcd-leader", fmt::format("kill -9 etcd member {} (the leader)", *leader + 1));
  if (!restart_after_ms) co_return;
  co_await sleep_for(std::chrono::milliseconds(*restart_after_ms));
  co_await etcd_->restart(*leader);
  events_("restart-etcd", fmt::format("etcd member {} back", *leader + 1));
}

// A server that cannot answer any more counts 0: its counts are gone with it.
asio::awaitable<void> Cluster::keep_replays_of(Server const& server) {
  Call call = server_metrics_call();
  auto page = co_await read_metrics(executor_, server.port, std::move(call));
  if (page) keep_counts_of(*page);
}

void Cluster::keep_counts_of(std::string const& metrics_page) {
  replays_of_stopped_ += series_value(metrics_page, kReplaysSeries).value_or(0);
  jobs_of_stopped_.fenced_writes_refused += family_sum(metrics_page, kFencedRefusedSeries);
  jobs_of_stopped_.lease_losses += family_sum(metrics_page, kLeaseLossesSeries);
}

bool Cluster::aim_holds(Server const& server, JobAim aim, std::optional<std::string> const& metrics_page) {
  if (aim == JobAim::none) return true;
  if (metrics_page && series_value(*metrics_page, kReceiptsInFlightSeries).value_or(0) > 0) return true;
  if (aim == JobAim::required) {
    events_("aim", fmt::format("{} had no receipt job in flight any more: the fault is aimed again", server.id));
    return false;
  }
  events_("target", fmt::format("{} was running no receipt job when the fault was sent", server.id));
  return true;
}

asio::awaitable<std::int64_t> Cluster::idempotency_replays() {
  std::int64_t total = replays_of_stopped_;
  for (auto const& s : servers_) {
    Call call = server_metrics_call();
    auto n = co_await read_counter(executor_, s->port, std::move(call), kReplaysSeries);
    total += n.value_or(0);
  }
  co_return total;
}

asio::awaitable<JobCounters> Cluster::job_counters() {
  JobCounters total = jobs_of_stopped_;
  for (auto const& s : servers_) {
    Call call = server_metrics_call();
    auto page = co_await read_metrics(executor_, s->port, std::move(call));
    if (!page) continue;
    total.fenced_writes_refused += family_sum(*page, kFencedRefusedSeries);
    total.lease_losses += family_sum(*page, kLeaseLossesSeries);
  }
  co_return total;
}

asio::awaitable<std::vector<std::string>> Cluster::ids_running_jobs() {
  std::vector<std::string> ids;
  for (auto const& s : servers_) {
    Call call = server_metrics_call();
    auto page = co_await read_metrics(executor_, s->port, std::move(call));
    if (page && series_value(*page, kReceiptsInFlightSeries).value_or(0) > 0) ids.push_back(s->id);
  }
  co_return ids;
}

asio::awaitable<std::optional<int>> Cluster::server_starting_a_job(std::chrono::milliseconds apart) {
  // Servers may come and go between the looks (a fault on its way): they are matched by id.
  auto idle = co_await ids_running_jobs();
  co_await sleep_for(apart);
  auto started = co_await ids_running_jobs();
  auto has = [](std::vector<std::string> const& ids, std::string const& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    std::string const& id = servers_[i]->id;
    if (!has(idle, id) && has(started, id)) co_return static_cast<int>(i + 1);
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<std::string>> Cluster::tick_log(std::string task, std::string* problem) {
  auto log_file = settings_.work_dir / ("ticks-" + task + ".out");
  std::filesystem::remove(log_file);
  std::vector<std::string> argv{settings_.outboard_binary.string(), "jobs", "ticks", "--store", data_url(),
                                "--task", task, "--json"};
  ChildProcess process(argv, log_file);
  auto deadline = std::chrono::steady_clock::now() + kReadyDeadline;
  while (process.running() && std::chrono::steady_clock::now() < deadline) co_await sleep_for(kPollEvery);
  auto code = process.poll();
  std::ifstream in(log_file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!code || *code != 0) {
    *problem = fmt::format("`outboard jobs ticks --task {}` {}: {}", task,
                           code ? "exited " + std::to_string(*code) : std::string("did not finish"), log_tail(log_file, 300));
    co_return std::nullopt;
  }
  // The answer is its one line of JSON (a warning on standard error would share the file).
  auto start = text.starts_with("{") ? 0 : text.find("\n{");
  if (start == std::string::npos) {
    *problem = fmt::format("`outboard jobs ticks --task {}` printed no JSON", task);
    co_return std::nullopt;
  }
  if (text[start] == '\n') ++start;
  co_return text.substr(start, text.find('\n', start) - start);
}

asio::awaitable<void> Cluster::wait_backend_up(std::string address) {
  for (auto const& g : gateways_) {
    if (!g->process || !g->process->running() || g->cut_off) continue;
    co_await wait_backend_up_on(*g, address);
  }
}

asio::awaitable<void> Cluster::wait_backend_up_on(Gateway const& gateway, std::string address) {
  auto deadline = std::chrono::steady_clock::now() + kReadyDeadline;
  for (;;) {
    UserAgent agent(executor_, gateway.admin_port, 1000ms);
    Call call = admin_call(verb::get, "/backends/" + address, "");
    Reply reply = co_await agent.send(call);
    if (reply.ok()) {
      auto doc = nlohmann::json::parse(reply.body, nullptr, false);
      if (doc.is_object() && doc.value("state", "") == "up") co_return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw ClusterError(fmt::format("gateway {} never saw backend {} up; see {}", gateway.number, address,
                                     (settings_.work_dir / (gateway_file_name(gateway.number) + ".log")).string()));
    }
    co_await sleep_for(kPollEvery);
  }
}

std::size_t Cluster::index_of(int position) const {
  if (position < 1 || position > server_count()) {
    throw ClusterError(fmt::format("no server at position {} (there are {})", position, server_count()));
  }
  return static_cast<std::size_t>(position - 1);
}

asio::awaitable<void> Cluster::relaunch_in_place(Server& server) {
  // The same front proxy: the gateways know the server by its address.
  auto fresh = co_await launch_server(server.id, server.port, server.blob_dir, std::move(server.front));
  server.process = std::move(fresh->process);
  server.front = std::move(fresh->front);
  // New links to the store: a fault on the old ones does not follow the new process.
  server.redis_link = std::move(fresh->redis_link);
  server.postgres_link = std::move(fresh->postgres_link);
}

asio::awaitable<void> Cluster::retire_server(std::unique_ptr<Server> server) {
  std::string address = gateway_address(*server);
  std::string no_body;
  // With a registry the server says "draining" there itself on SIGTERM, and leaves it.
  if (!etcd_) {
    std::string drain = "/backends/" + address + "/drain";
    co_await admin(verb::post, drain, no_body);
  }
  co_await keep_replays_of(*server);
  co_await stop_gracefully(*server->process, kServerDrainMs + 3000);
  server_stopped(address);
  if (etcd_) co_return;
  std::string backend = "/backends/" + address;
  co_await admin(verb::delete_, backend, no_body);
}

asio::awaitable<bool> Cluster::kill_server(int position, std::optional<std::int64_t> restart_after_ms, JobAim aim) {
  Server& server = *servers_[index_of(position)];
  // One read for the aim and the counts, and the signal right after it: no job ends in between.
  Call call = server_metrics_call();
  auto page = co_await read_metrics(executor_, server.port, std::move(call));
  if (!aim_holds(server, aim, page)) co_return false;
  if (page) keep_counts_of(*page);
  pid_t pid = server.process->pid();
  server.process->kill_now();
  server_stopped(gateway_address(server));
  std::string what = fmt::format("kill -9 {} (pid {})", server.id, pid);
  if (!restart_after_ms) {
    // Gone for good: the gateway forgets it, as an orchestrator would tell it to.
    std::string address = gateway_address(server);
    servers_.erase(servers_.begin() + static_cast<std::ptrdiff_t>(index_of(position)));
    events_("kill", what + ", not replaced");
    if (etcd_) co_return true;  // its lease expires: the registry forgets it (kRegistryTtlS)
    std::string backend = "/backends/" + address;
    std::string no_body;
    co_await admin(verb::delete_, backend, no_body);
    co_return true;
  }
  events_("kill", what);
  co_await sleep_for(std::chrono::milliseconds(*restart_after_ms));
  co_await relaunch_in_place(server);
  server_back(gateway_address(server));
  events_("restart", fmt::format("{} restarted on the same port and disk (pid {})", server.id, server.process->pid()));
  co_return true;
}

asio::awaitable<bool> Cluster::hang_server(int position, std::int64_t lasting_ms, bool may_thaw, JobAim aim) {
  Server& server = *servers_[index_of(position)];
  if (aim != JobAim::none) {
    Call call = server_metrics_call();
    auto page = co_await read_metrics(executor_, server.port, std::move(call));
    if (!aim_holds(server, aim, page)) co_return false;
  }
  auto frozen_at = std::chrono::steady_clock::now();
  server.process->signal(SIGSTOP);
  events_("hang", fmt::format("SIGSTOP {} (pid {}) for {} ms", server.id, server.process->pid(), lasting_ms));
  if (may_thaw && co_await frozen_holding_the_store_lock(server.process->pid(), lasting_ms)) {
    server.process->signal(SIGCONT);
    events_("thaw", fmt::format("SIGCONT {}: it froze inside a write to the embedded store, so every server waited "
                                "for it; the hang is aimed again",
                                server.id));
    co_return false;
  }
  auto remaining = frozen_at + std::chrono::milliseconds(lasting_ms) - std::chrono::steady_clock::now();
  co_await sleep_for(std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(remaining)));
  server.process->signal(SIGCONT);
  events_("resume", fmt::format("SIGCONT {}", server.id));
  co_return true;
}

// Only the embedded store has a lock a frozen server can keep: redis and postgres apply each
// command or transaction on their side, whatever happens to the client that sent it.
asio::awaitable<bool> Cluster::frozen_holding_the_store_lock(pid_t pid, std::int64_t lasting_ms) {
  if (settings_.store != StoreKind::sqlite) co_return false;
  // A thread not stopped yet could still take the lock after a probe that found it free.
  for (int look = 0; look < kStoppedLooks && !every_thread_stopped(pid); ++look) co_await sleep_for(kPollEvery);
  auto within = std::min(kStoreLockProbe, std::chrono::milliseconds(lasting_ms / 3));
  // Named before the co_await (the g++ 12 coroutine bug, src/core/offload.hpp).
  auto probing = probe_sqlite_write_lock(embedded_store_file(), within, kStoreLockProbeEvery);
  auto lock = co_await std::move(probing);
  co_return lock == WriteLock::held;
}

asio::awaitable<std::unique_ptr<Cluster::Server>> Cluster::join_new_server() {
  std::string id = next_server_id();
  auto blob_dir = fresh_blob_dir(id);
  auto server = co_await launch_server(id, 0, blob_dir);
  std::string address = gateway_address(*server);
  if (!etcd_) {  // with a registry it registers itself
    std::string body = nlohmann::json{{"address", address}}.dump();
    std::string backends = "/backends";
    co_await admin(verb::post, backends, body);
  }
  co_await wait_backend_up(address);
  co_return server;
}

asio::awaitable<void> Cluster::rolling_deploy() {
  std::size_t count = servers_.size();
  events_("deploy", fmt::format("rolling deploy of {} servers begins", count));
  for (std::size_t i = 0; i < count; ++i) {
    auto replacement = co_await join_new_server();
    std::string old_id = servers_[i]->id;
    auto old = std::move(servers_[i]);
    servers_[i] = std::move(replacement);
    co_await retire_server(std::move(old));
    events_("replace", fmt::format("{} replaced {} (drained, SIGTERM)", servers_[i]->id, old_id));
  }
}

asio::awaitable<void> Cluster::scale_out(int count) {
  for (int i = 0; i < count; ++i) {
    auto server = co_await join_new_server();
    std::string id = server->id;
    servers_.push_back(std::move(server));
    events_("scale-out", fmt::format("{} joined ({} servers)", id, servers_.size()));
  }
}

asio::awaitable<void> Cluster::scale_in(int count) {
  for (int i = 0; i < count && servers_.size() > 1; ++i) {
    auto server = std::move(servers_.back());
    servers_.pop_back();
    std::string id = server->id;
    co_await retire_server(std::move(server));
    events_("scale-in", fmt::format("{} drained and stopped ({} servers)", id, servers_.size()));
  }
}

asio::awaitable<void> Cluster::restart_store() {
  if (!store_) throw ClusterError("restart-store needs a store process (--store redis)");
  pid_t pid = store_->pid();
  store_->kill_now();
  events_("store-down", fmt::format("kill -9 redis-server (pid {})", pid));
  co_await sleep_for(500ms);
  co_await start_store();
  events_("store-up", fmt::format("redis-server back on port {} (pid {})", store_port_, store_->pid()));
}

void Cluster::start_engines() {
  // Blocking, bounded steps (lab/redis_cluster_engine.hpp, lab/postgres_engine.hpp): nothing else
  // runs yet. A failure is a ClusterError with the engine's own message and log.
  try {
    if (settings_.store == StoreKind::private_redis_cluster && !redis_cluster_) {
      redis_cluster_ = std::make_unique<RedisClusterEngine>(settings_.work_dir / "redis-cluster");
      redis_cluster_->wait_until_replicas_synced();
    }
    if (settings_.postgres_data && !postgres_) {
      // Its own directory straight under the temp dir: the work dir is private to the lab's user,
      // and as root PostgreSQL runs as the postgres user, who could not enter it.
      std::string pattern = (std::filesystem::temp_directory_path() / "outboard-lab-pg-XXXXXX").string();
      if (!mkdtemp(pattern.data())) throw ClusterError("cannot make a directory for PostgreSQL under " + pattern);
      postgres_dir_ = pattern;
      postgres_ = std::make_unique<PostgresEngine>(postgres_dir_);
    }
  } catch (ClusterError const&) {
    throw;
  } catch (std::runtime_error const& e) {
    throw ClusterError(e.what());
  }
}

void Cluster::stop_postgres() {
  try {
    postgres_.reset();  // a fast shutdown, waited for
  } catch (...) {
    // its ChildProcess SIGKILLs what is left
  }
  if (!postgres_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(postgres_dir_, ignored);
    postgres_dir_.clear();
  }
}

asio::awaitable<void> Cluster::kill_redis_master(std::optional<std::int64_t> restart_after_ms) {
  if (!redis_cluster_) throw ClusterError("kill-redis-master needs a Redis Cluster (--store redis-cluster)");
  auto masters = redis_cluster_->master_ports(redis_cluster_->any_live_port());
  if (masters.empty()) throw ClusterError("kill-redis-master: the cluster has no live master");
  std::uint16_t port = *std::min_element(masters.begin(), masters.end());
  redis_cluster_->kill(port);
  events_("kill-redis-master", fmt::format("kill -9 the redis master on port {} (a replica takes over)", port));
  if (!restart_after_ms) co_return;
  co_await sleep_for(std::chrono::milliseconds(*restart_after_ms));
  redis_cluster_->restart(port);
  events_("redis-node-back", fmt::format("redis node on port {} started again: it rejoins as a replica", port));
}

asio::awaitable<void> Cluster::restart_postgres() {
  if (!postgres_) throw ClusterError("restart-postgres needs PostgreSQL (--data postgres)");
  pid_t pid = postgres_->postmaster() ? postgres_->postmaster()->pid() : -1;
  postgres_->begin_stop();
  events_("postgres-down", fmt::format("fast shutdown of PostgreSQL (pid {})", pid));
  auto deadline = std::chrono::steady_clock::now() + kReadyDeadline;
  while (!postgres_->stopped()) {
    if (std::chrono::steady_clock::now() >= deadline) throw ClusterError("PostgreSQL ignored its fast shutdown");
    co_await sleep_for(kPollEvery);
  }
  co_await sleep_for(500ms);
  postgres_->begin_start();
  PostgresEngine* engine = postgres_.get();
  auto probe = [engine]() -> asio::awaitable<bool> { co_return engine->accepting(); };
  std::string what = "PostgreSQL on port " + std::to_string(engine->port());
  co_await wait_ready(what, *engine->postmaster(), probe);
  events_("postgres-up", fmt::format("PostgreSQL back on port {} (pid {})", engine->port(), engine->postmaster()->pid()));
}

}  // namespace outboard::lab
