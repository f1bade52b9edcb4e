#pragma once
// A service built on the runtime: the HTTP server, the stores chosen by URL, sessions, health
// endpoints and the middleware chain around the application's routes. `outboard serve` is one.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

#include "core/clock.hpp"
#include "io/http_server.hpp"
#include "actors/config.hpp"
#include "jobs/config.hpp"
#include "jobs/handler.hpp"
#include "realtime/config.hpp"
#include "runtime/client_address.hpp"
#include "runtime/idempotency.hpp"
#include "runtime/metrics.hpp"
#include "runtime/password.hpp"
#include "runtime/router.hpp"
#include "runtime/session.hpp"
#include "runtime/store_health.hpp"
#include "runtime/token_auth.hpp"
#include "runtime/throttle.hpp"
#include "state/blob/blob_store.hpp"
#include "state/job_queue.hpp"
#include "state/store.hpp"

namespace outboard::realtime {
class Hub;
}
namespace outboard::actors {
class ActorHost;
class Relays;
}
namespace outboard::jobs {
class Runner;
class JobMetrics;
}

namespace outboard::runtime {

struct RoomServices;  // runtime/context.hpp

struct ServiceConfig {
  std::string instance_id;
  io::ServerOptions server;
  std::string sessions_url;  // where session hashes live
  std::string data_url;      // where records live
  std::string blobs_url;     // file://DIR
  core::Millis store_timeout{1000};
  // Redis stores only: the near-cache (docs/STATE.md); 0 keys: off.
  std::size_t near_cache_keys = 0;
  core::Millis near_cache_ttl{10'000};
  // Redis stores only: replicas that must confirm each commit_if / compare_and_set (WAIT,
  // docs/STATE.md); 0: off.
  int wait_replicas = 0;
  core::Millis wait_timeout{100};
  SessionPolicy sessions;
  // Raw signing keys, newest first. Empty: the key is kept in the session store, made by the
  // first instance that starts, so every instance sharing the store shares the key.
  std::vector<std::string> session_keys;
  KdfCost kdf = KdfCost::interactive;
  int kdf_threads = 1;
  int kdf_queue = 32;  // password checks that may wait beyond those running; more get 503 kdf_busy
  ThrottlePolicy throttle;
  // Peers whose X-Forwarded-For is believed (see runtime/client_address.hpp).
  core::AddressBlocks trusted_proxies;
  core::Millis drain_timeout{10'000};
  IdempotencyPolicy idempotency;
  bool access_log = false;  // one JSON line per request on stdout
  // /readyz and a shared network store (redis) that does not answer: false (default), still
  // ready (200, "store":"unreachable"), since every server shares that outage and leaving the
  // balancer all at once helps nobody; true, 503 as for a broken local store.
  bool readyz_require_store = false;
  // "IP:PORT" of a listener that serves GET /metrics alone; empty: /metrics on the public port.
  // When set, the public port answers /metrics 404, so it never leaves through a gateway.
  std::string metrics_listen;
  // Which credentials are accepted (`--auth`); `tokens` is required unless cookie.
  AuthMode auth_mode = AuthMode::cookie;
  std::optional<TokenConfig> tokens;
  // Rooms over WebSocket on GET /ws (docs/REALTIME.md); nullopt: off. An empty feed_url means
  // the data store's.
  std::optional<realtime::RealtimeConfig> realtime;
  // Background jobs and scheduled tasks (docs/JOBS.md); nullopt: off (no runner, no enqueue).
  std::optional<jobs::JobsConfig> jobs;
  // Game rooms as actors on GET /rooms/{id} (docs/ACTORS.md); nullopt: off. Their records live
  // in the data store.
  std::optional<actors::ActorsConfig> actors;
};

// The application's job types and scheduled tasks, run by the service's job runner.
struct JobHandlers {
  std::vector<std::pair<std::string, std::unique_ptr<jobs::JobHandler>>> jobs;
  std::vector<std::pair<std::string, std::unique_ptr<jobs::TaskHandler>>> tasks;
};

class Service {
 public:
  Service(ServiceConfig config, core::Clock const& clock, Router routes, JobHandlers handlers = {});
  ~Service();

  // Opens the stores and starts listening. Throws std::runtime_error with a reason.
  void start();
  std::uint16_t port() const { return server_->port(); }
  // The metrics listener's port; 0 when /metrics is on the public port.
  std::uint16_t metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  ServiceConfig const& config() const { return config_; }

  // SIGTERM: readiness false, listener closed, requests in flight finish (up to the drain
  // timeout). Returns true when all finished in time.
  bool drain();

 private:
  class ThreadHandler;
  std::vector<std::string> resolve_session_keys();
  void start_metrics_listener();
  void start_realtime(state::StoreOptions const& options);
  void start_jobs(state::StoreOptions const& options);
  void start_actors();
  // The /metrics page: the service's families, the KDF's counts, build and process metrics.
  http::Response metrics_response() const;

  ServiceConfig config_;
  core::Clock const& clock_;
  Router router_;
  std::vector<Router::RouteName> route_names_;  // by route index
  std::unique_ptr<state::StoreProvider> sessions_provider_;
  std::unique_ptr<state::StoreProvider> data_provider_;  // null when it is the sessions URL
  std::unique_ptr<StoreHealth> sessions_health_;
  std::unique_ptr<StoreHealth> data_health_;  // null when it is the sessions URL
  std::unique_ptr<state::BlobStore> blobs_;
  std::vector<std::string> signing_keys_;  // raw; each worker thread makes its CookieSigner of them
  std::unique_ptr<PasswordHasher> hasher_;
  std::unique_ptr<ServiceMetrics> metrics_;
  std::unique_ptr<TokenService> tokens_;  // null in cookie mode
  std::unique_ptr<realtime::Hub> realtime_;  // null when realtime is off
  JobHandlers job_handlers_;                  // handed to the runner at start()
  std::unique_ptr<state::StoreProvider> jobs_memory_;        // queue = "memory": the in-process store it lives in
  std::unique_ptr<state::JobQueueProvider> job_queues_;      // null when jobs are off
  std::unique_ptr<jobs::JobMetrics> job_metrics_;
  std::unique_ptr<jobs::Runner> jobs_;
  std::unique_ptr<actors::ActorHost> actors_;  // null when actors are off
  std::unique_ptr<actors::Relays> relays_;
  std::unique_ptr<RoomServices> rooms_;
  std::shared_ptr<spdlog::logger> access_log_;
  std::atomic<int> next_shard_{0};
  std::unique_ptr<io::HttpServer> server_;
  std::unique_ptr<io::HttpServer> metrics_server_;  // null unless config_.metrics_listen
};

}  // namespace outboard::runtime
