// `outboard gateway`: the L7 load balancer.
#include "gateway_command.hpp"

#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <iostream>
#include <memory>
#include <thread>

#include "core/config.hpp"
#include "core/secret_file.hpp"
#include "gateway/admin_api.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/health_checker.hpp"
#include "gateway/proxy_server.hpp"
#include "gateway/reload.hpp"
#include "gateway/registry_source.hpp"
#include "io/http_server.hpp"
#include "registry_settings.hpp"

namespace outboard::app {
namespace {

// The raw settings, as the config sources give them; checked and turned into GatewayConfig.
struct GatewaySettings {
  std::string listen = "127.0.0.1:8080";
  bool reuse_port = false;
  std::int64_t threads = 0;
  std::string admin = "127.0.0.1:9900";
  std::string admin_token_file{gateway::kDefaultAdminTokenFile};
  std::vector<std::string> backends;
  std::string policy = "round_robin";
  std::string hash_key = "client";
  std::string sticky_cookie = "ob_backend";
  std::int64_t slow_start_ms = 0;
  bool health_enabled = true;
  std::string health_path = "/readyz";
  std::int64_t health_interval_ms = 1000, health_timeout_ms = 500, health_rise = 2, health_fall = 2;
  std::int64_t panic_threshold_percent = 50;
  std::int64_t outlier_failures = 5, outlier_base_ms = 1000, outlier_max_ms = 30'000;
  std::int64_t connect_ms = 1000, first_byte_ms = 15'000, idle_ms = 60'000, total_ms = 120'000, header_read_ms = 10'000;
  std::int64_t max_header_bytes = 16 << 10, max_headers = 100, max_target_bytes = 8 << 10, max_body_bytes = 64 << 20, retry_buffer_bytes = 64 << 10;
  std::int64_t body_read_ms = 10'000, body_min_rate = 1024, queue_ms = 1000;
  std::int64_t websocket_idle_ms = 300'000, websocket_drain_grace_ms = 5'000;
  std::int64_t max_connections = 10'000, max_connections_per_client = 0, max_in_flight_per_backend = 0,
               queue_size = 100, retry_after_s = 1;
  std::vector<std::string> trusted_proxies;
  std::string sticky_key_file;
  std::string sticky_key;  // a secret: OUTBOARD_GATEWAY_STICKY_KEY (or the file); no flag, never logged
  std::int64_t max_attempts = 2, retry_budget_percent = 20;
  std::int64_t drain_timeout_ms = 10'000;
  std::string log_level = "info";
  bool access_log = false;
  RegistrySettings registry;
};

std::optional<std::string> check_host_port(std::string const& text) {
  if (text.empty()) return std::nullopt;
  if (!gateway::parse_backend_address(text)) return "'" + text + "' is not host:port";
  return std::nullopt;
}

void declare(core::Settings& s, GatewaySettings& v) {
  s.add_string("listen", v.listen, "--listen", "address:port for traffic", check_host_port);
  s.add_bool("reuse_port", v.reuse_port, "--reuse-port",
             "share the listen port with another process (seamless restarts); without it a busy port stops start-up");
  s.add_int("threads", v.threads, 0, 256, "--threads", "event-loop threads (0: one per core)");
  s.add_string("admin.listen", v.admin, "--admin", "address:port of the admin API (empty: off)", check_host_port);
  s.add_string("admin.token_file", v.admin_token_file, "--admin-token-file",
               "file holding the admin API's bearer token (created, mode 0600, when absent)",
               [](std::string const& p) -> std::optional<std::string> {
                 if (p.empty()) return "must name a file";
                 return std::nullopt;
               });
  s.add_list("pool.backends", v.backends, "--backend", "a backend: host:port [weight=N] (repeatable)",
             [](std::string const& spec) -> std::optional<std::string> {
               std::pair<gateway::BackendAddress, std::uint32_t> out;
               return gateway::parse_backend_spec(spec, out);
             });
  s.add_string("pool.policy", v.policy, "--policy",
               "round_robin, least_outstanding, power_of_two, consistent_hash, cookie_sticky, rendezvous",
               [](std::string const& p) -> std::optional<std::string> {
                 if (!gateway::parse_policy(p)) return "unknown policy '" + p + "'";
                 return std::nullopt;
               });
  s.add_string("pool.hash_key", v.hash_key, "--hash-key", "consistent_hash and rendezvous key: header:NAME, cookie:NAME, path, client",
               [](std::string const& k) -> std::optional<std::string> {
                 gateway::HashKeySource out;
                 return gateway::parse_hash_key(k, out);
               });
  s.add_string("pool.sticky_cookie", v.sticky_cookie, "--sticky-cookie", "cookie holding the backend's token (cookie_sticky)");
  s.add_int("pool.slow_start_ms", v.slow_start_ms, 0, 3'600'000, "--slow-start-ms", "ramp a (re)joining backend's weight over this (0: off)");
  s.add_bool("health.enabled", v.health_enabled, "--health-checks", "active HTTP health checks (--health-checks false: none)");
  s.add_string("health.path", v.health_path, "--health-path", "path checked on each backend",
               [](std::string const& p) -> std::optional<std::string> {
                 if (p.empty() || p.front() != '/') return "must start with '/'";
                 return std::nullopt;
               });
  s.add_int("health.interval_ms", v.health_interval_ms, 10, 3'600'000, "--health-interval-ms", "time between checks");
  s.add_int("health.timeout_ms", v.health_timeout_ms, 1, 600'000, "--health-timeout-ms", "a check slower than this fails");
  s.add_int("health.rise", v.health_rise, 1, 100, "--health-rise", "successes in a row that bring a backend up");
  s.add_int("health.fall", v.health_fall, 1, 100, "--health-fall", "failures in a row that take a backend down");
  s.add_int("health.panic_threshold_percent", v.panic_threshold_percent, 0, 100, "--panic-threshold-percent",
            "below this share of available backends, all but draining ones take traffic (0: never)");
  s.add_int("outlier.consecutive_failures", v.outlier_failures, 0, 1000, "--outlier-failures",
            "connect failures or 5xx in a row that eject a backend (0: never)");
  s.add_int("outlier.base_ejection_ms", v.outlier_base_ms, 1, 3'600'000, "--outlier-base-ejection-ms", "first ejection; doubles each time");
  s.add_int("outlier.max_ejection_ms", v.outlier_max_ms, 1, 3'600'000, "--outlier-max-ejection-ms", "longest ejection");
  s.add_int("timeouts.connect_ms", v.connect_ms, 1, 600'000, "--connect-timeout-ms", "connecting to a backend");
  s.add_int("timeouts.first_byte_ms", v.first_byte_ms, 1, 3'600'000, "--first-byte-timeout-ms",
            "from the request sent to the response header");
  s.add_int("timeouts.idle_ms", v.idle_ms, 1, 3'600'000, "--idle-timeout-ms", "between two pieces of a body, and keep-alive idle");
  s.add_int("timeouts.total_ms", v.total_ms, 0, 3'600'000, "--total-timeout-ms",
            "from the request header read to the last response byte (0: no cap)");
  s.add_int("timeouts.websocket_idle_ms", v.websocket_idle_ms, 0, 86'400'000, "--websocket-idle-timeout-ms",
            "a WebSocket with no byte either way this long is closed with 1001 (0: never)");
  s.add_int("timeouts.websocket_drain_grace_ms", v.websocket_drain_grace_ms, 0, 3'600'000, "--websocket-drain-grace-ms",
            "a closing WebSocket's wait for a frame to end and for the peers' close frames");
  s.add_int("timeouts.body_read_ms", v.body_read_ms, 1, 3'600'000, "--body-read-timeout-ms",
            "grace before a request body must keep up timeouts.body_min_rate");
  s.add_int("timeouts.body_min_rate", v.body_min_rate, 0, std::int64_t{1} << 40, "--body-min-rate",
            "bytes/s a request body must average after body_read_ms, else 408 (0: off)");
  s.add_int("timeouts.queue_ms", v.queue_ms, 1, 3'600'000, "--queue-timeout-ms", "longest wait for a backend slot, then 503");
  s.add_int("timeouts.header_read_ms", v.header_read_ms, 1, 600'000, "--header-read-timeout-ms",
            "a client must send its whole request header within this, else 408");
  s.add_int("limits.max_header_bytes", v.max_header_bytes, 1024, 1 << 20, "--max-header-bytes", "a request header's size, 431 above");
  s.add_int("limits.max_headers", v.max_headers, 1, 10'000, "--max-headers", "header fields in a request, 431 above");
  s.add_int("limits.max_target_bytes", v.max_target_bytes, 16, 1 << 20, "--max-target-bytes", "request-target length, 414 above");
  s.add_int("limits.max_body_bytes", v.max_body_bytes, 0, std::int64_t{1} << 40, "--max-body-bytes", "a request body's size, 413 above");
  s.add_int("limits.retry_buffer_bytes", v.retry_buffer_bytes, 0, 64 << 20, "--retry-buffer-bytes",
            "request bodies up to this size are held so they can be retried");
  s.add_int("limits.max_connections", v.max_connections, 0, 10'000'000, "--max-connections",
            "open client connections, all threads (0: no cap); 503 beyond");
  s.add_int("limits.max_connections_per_client", v.max_connections_per_client, 0, 10'000'000, "--max-connections-per-client",
            "open connections from one client address (0: no cap); 503 beyond");
  s.add_int("limits.max_in_flight_per_backend", v.max_in_flight_per_backend, 0, 10'000'000, "--max-in-flight-per-backend",
            "requests in flight on one backend (0: no cap); beyond, requests queue");
  s.add_int("limits.queue_size", v.queue_size, 0, 10'000'000, "--queue-size",
            "requests waiting for one backend, per thread; 503 beyond");
  s.add_int("limits.retry_after_s", v.retry_after_s, 0, 3600, "--retry-after-s", "Retry-After of a 503 from a limit");
  s.add_list("forwarding.trusted_proxies", v.trusted_proxies, "--trusted-proxy",
             "a CIDR whose X-Forwarded-For/Forwarded/X-Forwarded-Proto are kept and appended to (repeatable)",
             [](std::string const& cidr) -> std::optional<std::string> {
               gateway::TrustedProxies probe;
               return probe.add(cidr);
             });
  s.add_string("sticky.key_file", v.sticky_key_file, "--sticky-key-file",
               "file holding the HMAC key of the sticky cookie (or OUTBOARD_GATEWAY_STICKY_KEY; none: random per process)");
  s.add_string("sticky.key", v.sticky_key, "", "the HMAC key itself (use OUTBOARD_GATEWAY_STICKY_KEY, not a flag)",
               [](std::string const& key) -> std::optional<std::string> {
                 // The message must not quote the value: it is a secret.
                 if (!key.empty() && key.size() < 16) return "the key is shorter than 16 bytes";
                 return std::nullopt;
               });
  s.mark_secret("sticky.key");
  s.add_int("retries.max_attempts", v.max_attempts, 1, 10, "--max-attempts", "tries per request (1: no retries)");
  s.add_int("retries.budget_percent", v.retry_budget_percent, 0, 100, "--retry-budget-percent",
            "retries in flight as a share of requests in flight (3 always allowed)");
  s.add_int("drain_timeout_ms", v.drain_timeout_ms, 0, 3'600'000, "--drain-timeout-ms",
            "on SIGTERM, how long requests in flight may take");
  s.add_string("log.level", v.log_level, "--log-level", "trace, debug, info, warn, error");
  s.add_bool("log.access", v.access_log, "--access-log",
             "one JSON line per request on stdout: backend, status, bytes, timings, attempts");
  declare_registry(s, v.registry, RegistryRole::gateway);
}

gateway::GatewayConfig to_config(GatewaySettings const& v) {
  gateway::GatewayConfig c;
  auto listen = *gateway::parse_backend_address(v.listen);
  c.listen_address = listen.host;
  c.listen_port = listen.port;
  c.reuse_port = v.reuse_port;
  c.threads = v.threads > 0 ? static_cast<int>(v.threads) : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  c.admin_enabled = !v.admin.empty();
  if (c.admin_enabled) {
    auto admin = *gateway::parse_backend_address(v.admin);
    c.admin_address = admin.host;
    c.admin_port = admin.port;
  }
  for (auto const& spec : v.backends) {
    std::pair<gateway::BackendAddress, std::uint32_t> b;
    gateway::parse_backend_spec(spec, b);
    c.backends.push_back(b);
  }
  c.policy = *gateway::parse_policy(v.policy);
  gateway::parse_hash_key(v.hash_key, c.hash_key);
  c.sticky_cookie = v.sticky_cookie;
  c.slow_start = core::Millis(v.slow_start_ms);
  c.health_enabled = v.health_enabled;
  c.health_path = v.health_path;
  c.health_interval = core::Millis(v.health_interval_ms);
  c.health_timeout = core::Millis(v.health_timeout_ms);
  c.health_rise = static_cast<int>(v.health_rise);
  c.health_fall = static_cast<int>(v.health_fall);
  c.panic_threshold_percent = static_cast<int>(v.panic_threshold_percent);
  c.outlier_failures = static_cast<int>(v.outlier_failures);
  c.outlier_base_ejection = core::Millis(v.outlier_base_ms);
  c.outlier_max_ejection = core::Millis(v.outlier_max_ms);
  c.connect_timeout = core::Millis(v.connect_ms);
  c.first_byte_timeout = core::Millis(v.first_byte_ms);
  c.idle_timeout = core::Millis(v.idle_ms);
  c.total_timeout = core::Millis(v.total_ms);
  c.websocket_idle_timeout = core::Millis(v.websocket_idle_ms);
  c.websocket_drain_grace = core::Millis(v.websocket_drain_grace_ms);
  c.header_read_timeout = core::Millis(v.header_read_ms);
  c.max_header_bytes = static_cast<std::size_t>(v.max_header_bytes);
  c.max_headers = static_cast<std::size_t>(v.max_headers);
  c.max_target_bytes = static_cast<std::size_t>(v.max_target_bytes);
  c.max_body_bytes = static_cast<std::size_t>(v.max_body_bytes);
  c.retry_buffer_bytes = static_cast<std::size_t>(v.retry_buffer_bytes);
  c.max_attempts = static_cast<int>(v.max_attempts);
  c.retry_budget_percent = static_cast<int>(v.retry_budget_percent);
  c.drain_timeout = core::Millis(v.drain_timeout_ms);
  c.body_read_timeout = core::Millis(v.body_read_ms);
  c.body_min_rate = static_cast<std::uint64_t>(v.body_min_rate);
  c.queue_timeout = core::Millis(v.queue_ms);
  c.max_connections = static_cast<std::size_t>(v.max_connections);
  c.max_connections_per_client = static_cast<std::size_t>(v.max_connections_per_client);
  c.max_in_flight_per_backend = v.max_in_flight_per_backend;
  c.queue_size = static_cast<std::size_t>(v.queue_size);
  c.retry_after_seconds = static_cast<int>(v.retry_after_s);
  for (auto const& cidr : v.trusted_proxies) c.trusted_proxies.add(cidr);  // checked when declared
  c.access_log = v.access_log;
  return c;
}

// A secret file (core/secret_file.hpp) named by the setting `key`; its errors name the key.
std::string read_secret(std::string const& path, std::string const& key) {
  try {
    return core::read_secret_file(path);
  } catch (std::runtime_error const& e) {
    throw core::ConfigError(key + ": " + e.what());
  }
}

// The cookie_sticky HMAC key: sticky.key_file, else sticky.key (OUTBOARD_GATEWAY_STICKY_KEY), else ""
// (ProxyServer then makes a random one). A secret: never a flag, never in a message.
std::string sticky_key(GatewaySettings const& v) {
  if (v.sticky_key_file.empty()) return v.sticky_key;
  std::string key = read_secret(v.sticky_key_file, "sticky.key_file");
  if (key.size() < 16) throw core::ConfigError("sticky.key_file: '" + v.sticky_key_file + "' holds fewer than 16 bytes");
  return key;
}

// The admin API's token (admin_auth.hpp), created on first start. The path is logged so the
// operator can find it; the token never is.
gateway::AdminAuth admin_auth(GatewaySettings const& v) {
  bool created = false;
  try {
    std::string token = gateway::load_or_create_admin_token(v.admin_token_file, created);
    spdlog::info("admin API token {} {}", created ? "created in" : "read from", v.admin_token_file);
    return gateway::AdminAuth(std::move(token));
  } catch (std::runtime_error const& e) {
    throw core::ConfigError(std::string("admin.token_file: ") + e.what());
  }
}

// The settings whose new value a reload cannot apply to the running gateway: every one but the
// backends (applied, gateway/reload.hpp) and log.level (applied). Named, never their values
// (sticky.key is a secret).
std::vector<std::string> needs_restart(GatewaySettings const& running, GatewaySettings const& fresh) {
  std::vector<std::string> keys;
  auto note = [&](char const* key, auto const& a, auto const& b) {
    if (!(a == b)) keys.emplace_back(key);
  };
  note("listen", running.listen, fresh.listen);
  note("reuse_port", running.reuse_port, fresh.reuse_port);
  note("threads", running.threads, fresh.threads);
  note("admin.listen", running.admin, fresh.admin);
  note("admin.token_file", running.admin_token_file, fresh.admin_token_file);
  note("pool.policy", running.policy, fresh.policy);
  note("pool.hash_key", running.hash_key, fresh.hash_key);
  note("pool.sticky_cookie", running.sticky_cookie, fresh.sticky_cookie);
  note("pool.slow_start_ms", running.slow_start_ms, fresh.slow_start_ms);
  note("health.enabled", running.health_enabled, fresh.health_enabled);
  note("health.path", running.health_path, fresh.health_path);
  note("health.interval_ms", running.health_interval_ms, fresh.health_interval_ms);
  note("health.timeout_ms", running.health_timeout_ms, fresh.health_timeout_ms);
  note("health.rise", running.health_rise, fresh.health_rise);
  note("health.fall", running.health_fall, fresh.health_fall);
  note("health.panic_threshold_percent", running.panic_threshold_percent, fresh.panic_threshold_percent);
  note("outlier.consecutive_failures", running.outlier_failures, fresh.outlier_failures);
  note("outlier.base_ejection_ms", running.outlier_base_ms, fresh.outlier_base_ms);
  note("outlier.max_ejection_ms", running.outlier_max_ms, fresh.outlier_max_ms);
  note("timeouts.connect_ms", running.connect_ms, fresh.connect_ms);
  note("timeouts.first_byte_ms", running.first_byte_ms, fresh.first_byte_ms);
  note("timeouts.idle_ms", running.idle_ms, fresh.idle_ms);
  note("timeouts.total_ms", running.total_ms, fresh.total_ms);
  note("timeouts.header_read_ms", running.header_read_ms, fresh.header_read_ms);
  note("timeouts.body_read_ms", running.body_read_ms, fresh.body_read_ms);
  note("timeouts.body_min_rate", running.body_min_rate, fresh.body_min_rate);
  note("timeouts.queue_ms", running.queue_ms, fresh.queue_ms);
  note("timeouts.websocket_idle_ms", running.websocket_idle_ms, fresh.websocket_idle_ms);
  note("timeouts.websocket_drain_grace_ms", running.websocket_drain_grace_ms, fresh.websocket_drain_grace_ms);
  note("limits.max_header_bytes", running.max_header_bytes, fresh.max_header_bytes);
  note("limits.max_headers", running.max_headers, fresh.max_headers);
  note("limits.max_target_bytes", running.max_target_bytes, fresh.max_target_bytes);
  note("limits.max_body_bytes", running.max_body_bytes, fresh.max_body_bytes);
  note("limits.retry_buffer_bytes", running.retry_buffer_bytes, fresh.retry_buffer_bytes);
  note("limits.max_connections", running.max_connections, fresh.max_connections);
  note("limits.max_connections_per_client", running.max_connections_per_client, fresh.max_connections_per_client);
  note("limits.max_in_flight_per_backend", running.max_in_flight_per_backend, fresh.max_in_flight_per_backend);
  note("limits.queue_size", running.queue_size, fresh.queue_size);
  note("limits.retry_after_s", running.retry_after_s, fresh.retry_after_s);
  note("forwarding.trusted_proxies", running.trusted_proxies, fresh.trusted_proxies);
  note("sticky.key_file", running.sticky_key_file, fresh.sticky_key_file);
  note("sticky.key", running.sticky_key, fresh.sticky_key);
  note("retries.max_attempts", running.max_attempts, fresh.max_attempts);
  note("retries.budget_percent", running.retry_budget_percent, fresh.retry_budget_percent);
  note("drain_timeout_ms", running.drain_timeout_ms, fresh.drain_timeout_ms);
  note("log.access", running.access_log, fresh.access_log);
  note("registry.url", running.registry.url, fresh.registry.url);
  note("registry.prefix", running.registry.prefix, fresh.registry.prefix);
  note("registry.timeout_ms", running.registry.timeout_ms, fresh.registry.timeout_ms);
  note("registry.poll_ms", running.registry.poll_ms, fresh.registry.poll_ms);
  return keys;
}

std::string joined(std::vector<std::string> const& items) {
  std::string out;
  for (auto const& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// SIGHUP: reads the file (and env, flags) again and applies what can change live: the backends
// by the rule of gateway/reload.hpp, and log.level. One log line per kind of change, naming the
// backends and the settings that need a restart. A bad file changes nothing.
void reload(core::Settings const& settings, GatewaySettings const& running, std::vector<gateway::BackendSpec>& file_backends,
            gateway::BackendPool& pool, gateway::GatewayMetrics& metrics) {
  GatewaySettings fresh;
  try {
    core::Settings reread("gateway");
    declare(reread, fresh);
    CLI::App scratch;
    reread.register_flags(scratch);
    settings.reload_into(reread);
    reread.resolve(core::Settings::process_environment());
    if (fresh.backends.empty() && fresh.registry.url.empty()) {
      throw core::ConfigError("no backends: pool.backends is empty and there is no registry.url");
    }
  } catch (std::exception const& e) {
    metrics.reloads_refused.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("SIGHUP: reload refused, keeping the running config: {}", e.what());
    return;
  }
  auto next = to_config(fresh).backends;
  auto done = gateway::apply_reload(pool, gateway::plan_reload(file_backends, next), next);
  file_backends = std::move(next);
  spdlog::set_level(spdlog::level::from_str(fresh.log_level));
  metrics.reloads.fetch_add(1, std::memory_order_relaxed);

  if (!done.added.empty()) spdlog::info("SIGHUP: added backends {}", joined(done.added));
  if (!done.adopted.empty()) {
    spdlog::info("SIGHUP: the file now lists {} (added through the admin API); its weight is the file's",
                 joined(done.adopted));
  }
  if (!done.dropped.empty()) {
    spdlog::info("SIGHUP: dropped backends {} (no longer in the file; requests in flight to them finish)",
                 joined(done.dropped));
  }
  for (auto const& w : done.reweighed) spdlog::info("SIGHUP: weight of {} {} -> {}", w.id, w.from, w.to);
  if (!done.kept_from_admin.empty()) {
    spdlog::info("SIGHUP: kept backends {} (added through the admin API; remove them there)",
                 joined(done.kept_from_admin));
  }
  if (!done.not_restored.empty()) {
    spdlog::info("SIGHUP: not restored {} (removed through the admin API; the file did not change them)",
                 joined(done.not_restored));
  }
  auto restart = needs_restart(running, fresh);
  if (!restart.empty()) {
    spdlog::warn("SIGHUP: needs a restart (the running values stay): {}", joined(restart));
  }
  spdlog::info("SIGHUP: reloaded: {} added, {} dropped, {} reweighed, {} settings need a restart", done.added.size(),
               done.dropped.size(), done.reweighed.size(), restart.size());
}

// The registry watcher, its first read done: an unreachable registry stops the start unless
// static backends are given (then the gateway starts on them and keeps trying).
std::unique_ptr<registry::Watcher> start_registry(GatewaySettings const& v, gateway::RegistrySource& source,
                                                  core::Clock const& clock) {
  auto options = to_watcher(v.registry);
  if (!options) return nullptr;
  auto watcher = std::make_unique<registry::Watcher>(std::move(*options), clock,
                                                     [&source](registry::View const& view) { source.apply(view); });
  auto loaded = watcher->load();
  if (!loaded) {
    if (v.backends.empty()) {
      throw core::ConfigError("registry.url: " + v.registry.url + " cannot be read at start-up (" +
                              loaded.error().describe() + ") and no static backends are given (--backend)");
    }
    spdlog::warn("registry {} cannot be read at start-up ({}); starting on the static backends", v.registry.url,
                 loaded.error().describe());
  }
  return watcher;
}

int run_gateway(core::Settings& settings, GatewaySettings& v) {
  settings.resolve(core::Settings::process_environment());
  spdlog::set_default_logger(spdlog::stderr_color_mt("gateway"));
  spdlog::set_level(spdlog::level::from_str(v.log_level));
  if (v.backends.empty() && v.registry.url.empty()) {
    throw core::ConfigError("no backends: give --backend HOST:PORT or pool.backends in the config, or --registry etcd://...");
  }
  gateway::GatewayConfig config = to_config(v);
  config.sticky_key = sticky_key(v);
  if (settings.check_requested()) {
    // Everything a start would check has passed (the sticky key file read included); nothing is
    // bound, no token file created.
    std::cout << settings.effective_configuration() << std::flush;
    return 0;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  core::SystemClock clock;
  gateway::BackendPool pool(clock);
  pool.replace(config.backends);
  // The backends as the file (and env, flags) gave them at the last (re)load: a reload applies
  // only what changed since (gateway/reload.hpp).
  std::vector<gateway::BackendSpec> file_backends = config.backends;
  gateway::GatewayMetrics metrics;
  gateway::RegistrySource registry_source(pool);
  auto registry = start_registry(v, registry_source, clock);
  if (registry) metrics.registry = &registry->status();
  gateway::ProxyServer proxy(config, pool, metrics, clock);
  proxy.start();
  std::unique_ptr<io::HttpServer> admin;
  if (config.admin_enabled) {
    io::ServerOptions options;
    options.address = config.admin_address;
    options.port = config.admin_port;
    options.threads = 1;
    admin = std::make_unique<io::HttpServer>(options, gateway::make_admin_handler(pool, metrics, clock, admin_auth(v)));
    admin->start();
  }
  gateway::HealthChecker health(config, pool, clock);
  health.start();

  if (registry) registry->start();
  std::cout << "outboard gateway: listening on http://" << config.listen_address << ":" << proxy.port() << " ("
            << config.threads << " threads, policy " << gateway::to_string(config.policy) << ", "
            << config.backends.size() << " backends";
  if (registry) std::cout << " + " << registry->status().members.load() << " from " << v.registry.url;
  std::cout << ")";
  if (admin) std::cout << ", admin on http://" << config.admin_address << ":" << admin->port();
  std::cout << "\n" << std::flush;

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      reload(settings, v, file_backends, pool, metrics);
      continue;
    }
    spdlog::info("{}: draining (up to {} ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT", v.drain_timeout_ms);
    health.stop();
    if (registry) registry->stop();
    bool clean = proxy.drain(config.drain_timeout);
    if (admin) admin->stop();
    if (!clean) spdlog::warn("drain deadline passed with requests still in flight; they were cut");
    return 0;
  }
}

}  // namespace

std::function<int()> add_gateway_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("gateway", "run the L7 HTTP/WebSocket load balancer");
  auto values = std::make_shared<GatewaySettings>();
  auto settings = std::make_shared<core::Settings>("gateway");
  declare(*settings, *values);
  settings->register_flags(*cmd);
  return [cmd, values, settings]() -> int {
    if (!cmd->parsed()) return 0;
    return run_gateway(*settings, *values);
  };
}

}  // namespace outboard::app
