#pragma once
// Everything `outboard gateway` is configured with. Filled by apps/outboard/gateway_command.cpp
// from TOML, OUTBOARD_* variables and flags (core::Settings); read-only once the gateway runs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "gateway/backend_pool.hpp"
#include "gateway/balancer.hpp"
#include "gateway/trusted_proxies.hpp"

namespace outboard::gateway {

// Where a consistent-hash key comes from.
struct HashKeySource {
  enum class Kind { header, cookie, path, client } kind = Kind::client;
  std::string name;  // header or cookie name
};

// "header:NAME", "cookie:NAME", "path", "client"; a reason on failure.
std::optional<std::string> parse_hash_key(std::string_view text, HashKeySource& out);
// "host:port" or "host:port weight=N"; a reason on failure.
std::optional<std::string> parse_backend_spec(std::string_view text, std::pair<BackendAddress, std::uint32_t>& out);

struct GatewayConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  // Share the listen port with another process (seamless restarts: start the new gateway, then
  // SIGTERM the old one). Off: a port another process listens on stops start-up (io/listener.hpp).
  bool reuse_port = false;
  int threads = 1;
  std::string admin_address = "127.0.0.1";
  std::uint16_t admin_port = 0;  // 0 with admin_enabled: any free port
  bool admin_enabled = true;

  std::vector<std::pair<BackendAddress, std::uint32_t>> backends;
  Policy policy = Policy::round_robin;
  HashKeySource hash_key;
  std::string sticky_cookie = "ob_backend";
  core::Millis slow_start{0};

  bool health_enabled = true;
  std::string health_path = "/readyz";
  core::Millis health_interval{1000};
  core::Millis health_timeout{500};
  int health_rise = 2;
  int health_fall = 2;
  // Below this share of available backends (draining ones aside), every backend that is not
  // draining takes traffic (panic.hpp; Envoy's default). 0: never.
  int panic_threshold_percent = 50;

  int outlier_failures = 5;  // consecutive connect failures or 5xx; 0 disables ejection
  core::Millis outlier_base_ejection{1000};
  core::Millis outlier_max_ejection{30'000};

  core::Millis connect_timeout{1000};
  core::Millis first_byte_timeout{15'000};
  core::Millis idle_timeout{60'000};
  // From the whole request header read to the last response byte sent: body upload, queue
  // wait, connects, retries and the response relay all count. 0: no total cap.
  core::Millis total_timeout{120'000};
  core::Millis websocket_idle_timeout{300'000};  // no byte either way: close 1001 "idle" (0: never)
  core::Millis websocket_drain_grace{5'000};     // a closing WebSocket's wait for frames and peers
  core::Millis header_read_timeout{10'000};
  // The request body must average body_min_rate bytes/s after body_read_timeout (body_pace.hpp).
  core::Millis body_read_timeout{10'000};
  std::uint64_t body_min_rate = 1024;
  // How long a request may wait for a backend slot (limits.max_in_flight_per_backend).
  core::Millis queue_timeout{1000};

  // Caps (0: off). Beyond a cap: 503 with Retry-After: retry_after_seconds and a JSON reason.
  std::size_t max_connections = 10'000;          // client connections, all worker threads
  std::size_t max_connections_per_client = 0;    // from one client address
  std::int64_t max_in_flight_per_backend = 0;    // requests on one backend (HAProxy server maxconn)
  std::size_t queue_size = 100;                  // requests waiting per backend, per worker thread
  int retry_after_seconds = 1;

  // Peers whose X-Forwarded-For / Forwarded / X-Forwarded-Proto are believed (appended to);
  // from any other peer they are replaced. Empty: nobody is trusted.
  TrustedProxies trusted_proxies;
  // HMAC key for the cookie_sticky token (sticky_token.hpp); empty: a random key per process.
  // A secret: never logged.
  std::string sticky_key;

  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_headers = 100;
  std::size_t max_target_bytes = 8 << 10;  // 414 above
  std::size_t max_body_bytes = 64 << 20;
  // Request bodies up to this size are held so a failed attempt can be retried elsewhere;
  // bigger ones are streamed and are not retried once sending began.
  std::size_t retry_buffer_bytes = 64 << 10;

  int max_attempts = 2;       // 1 = no retries
  int retry_budget_percent = 20;
  int retry_budget_min = 3;   // retries always allowed in flight, whatever the load

  core::Millis drain_timeout{10'000};
  std::size_t max_idle_upstream_per_backend = 64;  // per worker thread
  bool access_log = false;
};

}  // namespace outboard::gateway
