// `outboard serve`: the reference shop on the service runtime.
#include "serve_command.hpp"

#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <chrono>
#include <thread>

#include "auth/jwt_key_files.hpp"
#include "core/config.hpp"
#include "io/listener.hpp"
#include "runtime/client_address.hpp"
#include "runtime/service.hpp"
#include "runtime/session_keys.hpp"
#include "runtime/store_health.hpp"
#include "jobs_settings.hpp"
#include "registry_settings.hpp"
#include "actors_settings.hpp"
#include "realtime_settings.hpp"
#include "shop/receipts.hpp"
#include "shop/routes.hpp"
#include "state/store_url.hpp"

namespace outboard::app {
namespace {

constexpr char kDefaultState[] = "sqlite://outboard-data/state.db";

// Every setting of `outboard serve`, with its default. Durations carry their unit in the name.
struct ServeSettings {
  std::string listen = "127.0.0.1";
  std::int64_t port = 8080;
  bool reuse_port = false;
  std::string instance;
  std::int64_t threads = 0;
  std::int64_t max_body_bytes = 1 << 20;
  std::int64_t max_header_bytes = 16 << 10;
  std::int64_t read_timeout_ms = 30'000;
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t drain_timeout_ms = 10'000;
  std::string state = kDefaultState;
  std::string sessions;
  std::string data;
  std::string blobs;
  std::int64_t store_timeout_ms = 1000;
  std::int64_t near_cache_entries = 0;
  std::int64_t near_cache_ttl_ms = 10'000;
  std::int64_t wait_replicas = 0;
  std::int64_t wait_timeout_ms = 100;
  std::string cookie_name = "ob_session";
  bool secure_cookie = false;
  std::int64_t idle_timeout_s = 30 * 60;
  std::int64_t absolute_timeout_s = 24 * 60 * 60;
  std::int64_t touch_interval_s = 60;
  std::vector<std::string> session_keys;
  std::string session_keys_file;
  // The text given to the refused --session-keys flag (never used, never printed).
  std::optional<std::string> session_keys_on_argv;
  std::vector<std::string> trusted_proxies{"127.0.0.0/8", "::1"};
  std::string kdf = "interactive";
  std::int64_t kdf_threads = 1;
  std::int64_t kdf_queue = 32;
  std::int64_t min_password_length = 8;
  std::string auth_mode = "cookie";
  std::string signing_key_file;
  std::string signing_alg = "EdDSA";
  std::string signing_kid;
  std::vector<std::string> verification_keys;  // "KID:ALG:FILE" each
  std::string issuer = "outboard";
  std::string audience = "outboard";
  std::int64_t access_ttl_s = 15 * 60;
  std::int64_t refresh_ttl_s = 14 * 24 * 60 * 60;
  std::int64_t refresh_grace_ms = 10'000;
  std::int64_t refresh_linger_s = 60 * 60;
  std::int64_t leeway_s = 30;
  std::string refresh_key_file;
  std::int64_t login_failures_per_account = 5;
  std::int64_t login_failures_per_client = 100;
  std::int64_t failure_window_s = 15 * 60;
  std::int64_t lockout_base_s = 60;
  std::int64_t lockout_max_s = 15 * 60;
  std::int64_t signups_per_client = 20;
  std::int64_t signup_window_s = 60 * 60;
  std::string log_level = "info";
  bool access_log = false;
  bool readyz_require_store = false;
  std::string metrics_listen;
  std::int64_t idempotency_retention_s = 24 * 60 * 60;
  std::int64_t idempotency_lease_s = 30;
  bool idempotency_enabled = true;
  std::int64_t max_upload_bytes = 16 << 20;
  std::int64_t recommendations_ttl_s = 60;
  std::int64_t receipt_render_ms = 0;
  std::int64_t cart_abandon_after_s = 24 * 60 * 60;
  RealtimeSettings realtime;
  JobsSettings jobs;
  RegistrySettings registry;
  ActorsSettings actors;
};

std::optional<std::string> check_state_url(std::string const& url) {
  if (url.empty()) return std::nullopt;  // "use the state URL"
  auto parsed = state::parse_store_url(url);
  if (!parsed) return parsed.error().context;
  if (parsed->scheme == "file" || parsed->scheme == "s3") {
    return parsed->scheme + ":// is a blob store; use memory://, sqlite://PATH, redis://HOST:PORT/DB, "
           "redis-cluster://HOST:PORT[,HOST:PORT...] or postgres://USER@HOST:PORT/DB";
  }
  return std::nullopt;
}

std::optional<std::string> check_blob_url(std::string const& url) {
  if (url.empty()) return std::nullopt;
  auto parsed = state::parse_store_url(url);
  if (!parsed) return parsed.error().context;
  if (parsed->scheme != "file" && parsed->scheme != "s3") return "blobs need file://DIR or s3://BUCKET/PREFIX?endpoint=URL";
  return std::nullopt;
}

std::optional<std::string> check_alg(std::string const& a) {
  if (!auth::parse_alg(a)) return "'" + a + "' is not one of EdDSA, ES256, RS256, HS256";
  return std::nullopt;
}

// "KID:ALG:FILE" -> a key file; nullopt when it is not that shape.
std::optional<auth::KeyFile> parse_verification_key(std::string const& text) {
  auto first = text.find(':');
  auto second = first == std::string::npos ? std::string::npos : text.find(':', first + 1);
  if (second == std::string::npos || first == 0 || second + 1 == text.size()) return std::nullopt;
  auto alg = auth::parse_alg(text.substr(first + 1, second - first - 1));
  if (!alg) return std::nullopt;
  return auth::KeyFile{text.substr(0, first), *alg, text.substr(second + 1)};
}

// Access and refresh tokens (docs/AUTH.md, "Configuration"). Secrets are only ever in files:
// these settings name the files, which --check shows (a path is not a secret).
void declare_tokens(core::Settings& s, ServeSettings& v) {
  s.add_string("auth.mode", v.auth_mode, "--auth",
               "credentials accepted: cookie (sessions), jwt (bearer access tokens + refresh tokens), both",
               [](std::string const& m) -> std::optional<std::string> {
                 if (!runtime::parse_auth_mode(m)) return "'" + m + "' is not one of cookie, jwt, both";
                 return std::nullopt;
               });
  s.add_string("auth.signing_key_file", v.signing_key_file, "",
               "jwt/both: the signing key (PEM private key, or the HS256 secret as base64url; mode 0600)");
  s.add_string("auth.signing_alg", v.signing_alg, "", "the signing key's algorithm: EdDSA, ES256, RS256, HS256",
               check_alg);
  s.add_string("auth.signing_kid", v.signing_kid, "", "jwt/both: the signing key's kid (unique across rotations)");
  s.add_list("auth.verification_keys", v.verification_keys, "",
             "keys that still verify (earlier signing keys until their tokens expire), each \"KID:ALG:FILE\"",
             [](std::string const& k) -> std::optional<std::string> {
               if (!parse_verification_key(k)) return "'" + k + "' is not KID:ALG:FILE (ALG one of EdDSA, ES256, RS256, HS256)";
               return std::nullopt;
             });
  s.add_string("auth.issuer", v.issuer, "", "iss of the access tokens minted and required", [](std::string const& i) -> std::optional<std::string> {
    if (i.empty()) return "must not be empty";
    return std::nullopt;
  });
  s.add_string("auth.audience", v.audience, "", "aud of the access tokens minted and required",
               [](std::string const& a) -> std::optional<std::string> {
                 if (a.empty()) return "must not be empty";
                 return std::nullopt;
               });
  s.add_int("auth.access_ttl_s", v.access_ttl_s, 1, 24 * 60 * 60, "",
            "access token lifetime: also how long a stolen one works unless revoked");
  s.add_int("auth.refresh_ttl_s", v.refresh_ttl_s, 1, 365LL * 86400, "",
            "a refresh family's absolute lifetime from its login");
  s.add_int("auth.refresh_grace_ms", v.refresh_grace_ms, 0, 600'000, "",
            "racing uses of one refresh token within this get the same successor; later reuse ends the family");
  s.add_int("auth.refresh_linger_s", v.refresh_linger_s, 0, 30LL * 86400, "",
            "how long ended or expired families are still recognised (a late use: expired/ended, not unknown)");
  s.add_int("auth.leeway_s", v.leeway_s, 0, auth::kMaxLeeway.count(), "", "clock-skew allowance on exp, nbf and iat");
  s.add_string("auth.refresh_key_file", v.refresh_key_file, "",
               "jwt/both: HMAC key deriving refresh-token successors (hex or base64url, 32+ bytes, mode 0600; the "
               "same on every instance)");
}

void declare(core::Settings& s, ServeSettings& v) {
  s.add_string("server.listen", v.listen, "--listen", "address to listen on",
               [](std::string const& a) -> std::optional<std::string> {
                 boost::system::error_code ec;
                 boost::asio::ip::make_address(a, ec);
                 if (ec) return "'" + a + "' is not an IP address";
                 return std::nullopt;
               });
  s.add_int("server.port", v.port, 0, 65535, "--port", "TCP port (0: any free port)");
  s.add_bool("server.reuse_port", v.reuse_port, "--reuse-port",
             "share the port with other processes started with it too (seamless restarts); off: a port "
             "already in use is an error");
  s.add_string("server.instance", v.instance, "--instance", "instance id for X-Served-By (default host:port)",
               [](std::string const& id) -> std::optional<std::string> {
                 for (char c : id) {
                   if (c <= ' ' || c >= 127) return "instance id must be printable ASCII without spaces";
                 }
                 return std::nullopt;
               });
  s.add_int("server.threads", v.threads, 0, 256, "--threads", "event-loop threads (0: one per core)");
  s.add_int("server.max_body_bytes", v.max_body_bytes, 1, std::int64_t{1} << 34, "--max-body-bytes",
            "largest request body accepted (413 above)");
  s.add_int("server.max_header_bytes", v.max_header_bytes, 1024, 1 << 20, "", "largest request header (431 above)");
  s.add_int("server.read_timeout_ms", v.read_timeout_ms, 1, 3'600'000, "", "time allowed to receive a request (408 after)");
  s.add_int("server.idle_timeout_ms", v.idle_timeout_ms, 1, 3'600'000, "", "idle keep-alive connections close after");
  s.add_int("server.drain_timeout_ms", v.drain_timeout_ms, 0, 3'600'000, "--drain-timeout-ms",
            "on SIGTERM, how long requests in flight may take to finish");
  s.add_string("state.url", v.state, "--state", "state store: memory://, sqlite://PATH, redis://HOST:PORT/DB, redis-cluster://HOST:PORT,..., postgres://...",
               check_state_url);
  s.add_string("state.sessions", v.sessions, "--sessions", "session store URL (default: --state)", check_state_url);
  s.add_string("state.data", v.data, "--data", "record store URL (default: --state)", check_state_url);
  s.add_string("state.blobs", v.blobs, "--blobs", "blob store file://DIR or s3://BUCKET/PREFIX?endpoint=URL (default: beside the sqlite file)",
               check_blob_url);
  s.add_int("state.timeout_ms", v.store_timeout_ms, 1, 60'000, "--store-timeout-ms", "store command timeout");
  s.add_int("state.near_cache_entries", v.near_cache_entries, 0, 10'000'000, "--near-cache-entries",
            "redis: keys held in the near-cache, coherent through CLIENT TRACKING (0: off; docs/STATE.md)");
  s.add_int("state.near_cache_ttl_ms", v.near_cache_ttl_ms, 1, 3'600'000, "--near-cache-ttl-ms",
            "redis: the longest a near-cache value is kept, whatever Redis says");
  s.add_int("state.wait_replicas", v.wait_replicas, 0, 16, "--wait-replicas",
            "redis, redis-cluster: replicas that must confirm each commit_if and compare_and_set (WAIT), "
            "else 503 (0: off; docs/STATE.md)");
  s.add_int("state.wait_timeout_ms", v.wait_timeout_ms, 1, 60'000, "--wait-timeout-ms",
            "redis, redis-cluster: how long a write waits for its replicas (below state.timeout_ms)");
  s.add_string("sessions.cookie_name", v.cookie_name, "", "session cookie name",
               [](std::string const& n) -> std::optional<std::string> {
                 if (n.empty()) return "must not be empty";
                 for (char c : n) {
                   if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
                     return "may contain only letters, digits, '_' and '-'";
                   }
                 }
                 return std::nullopt;
               });
  s.add_bool("sessions.secure_cookie", v.secure_cookie, "--secure-cookie", "mark the cookie Secure (behind TLS)");
  s.add_int("sessions.idle_timeout_s", v.idle_timeout_s, 1, 365LL * 86400, "", "a session unused this long ends");
  s.add_int("sessions.absolute_timeout_s", v.absolute_timeout_s, 1, 365LL * 86400, "",
            "a session ends this long after login whatever its use");
  s.add_int("sessions.touch_interval_s", v.touch_interval_s, 0, 86400, "", "how often reads refresh the idle expiry");
  // No flag: keys on argv are readable by every local user (ps, /proc/PID/cmdline).
  s.add_list("sessions.keys", v.session_keys, "",
             "cookie signing keys, newest first (hex, 32+ bytes); empty: kept in the session store",
             [](std::string const& k) -> std::optional<std::string> {
               if (!runtime::CookieSigner::decode_key(k)) return "a key must be 64+ hex characters (32+ bytes)";
               return std::nullopt;
             });
  s.mark_secret("sessions.keys");
  s.add_string("sessions.keys_file", v.session_keys_file, "--session-keys-file",
               "file of cookie signing keys, one per line, newest first (mode 0600)");
  s.add_list("server.trusted_proxies", v.trusted_proxies, "--trusted-proxies",
             "addresses or blocks whose X-Forwarded-For is believed (default loopback)",
             [](std::string const& b) -> std::optional<std::string> {
               core::AddressBlocks probe;
               if (auto why = probe.add(b)) return *why;
               return std::nullopt;
             });
  s.add_string("auth.kdf", v.kdf, "--kdf", "password hashing cost: interactive, moderate, or min (tests)",
               [](std::string const& k) -> std::optional<std::string> {
                 if (!runtime::parse_kdf_cost(k)) return "'" + k + "' is not one of interactive, moderate, min";
                 return std::nullopt;
               });
  s.add_int("auth.kdf_threads", v.kdf_threads, 1, 64, "", "threads that hash passwords");
  s.add_int("auth.kdf_queue", v.kdf_queue, 0, 100'000, "",
            "password checks that may wait beyond those running (more: 503 kdf_busy)");
  s.add_int("auth.min_password_length", v.min_password_length, 1, 1024, "", "sign-up refuses shorter passwords");
  declare_tokens(s, v);
  s.add_int("throttle.login_failures_per_account", v.login_failures_per_account, 0, 1'000'000, "",
            "failed logins of one name within the window before it is locked (0: no limit)");
  s.add_int("throttle.login_failures_per_client", v.login_failures_per_client, 0, 1'000'000, "",
            "failed logins from one client address within the window before 429 (0: no limit)");
  s.add_int("throttle.failure_window_s", v.failure_window_s, 1, 7LL * 86400, "", "window for failed logins");
  s.add_int("throttle.lockout_base_s", v.lockout_base_s, 1, 86400, "",
            "first lockout of a name; doubles with each further failure");
  s.add_int("throttle.lockout_max_s", v.lockout_max_s, 1, 7LL * 86400, "", "longest lockout of a name");
  s.add_int("throttle.signups_per_client", v.signups_per_client, 0, 1'000'000'000, "",
            "sign-up attempts from one client address per window (0: no limit)");
  s.add_int("throttle.signup_window_s", v.signup_window_s, 1, 7LL * 86400, "", "window for sign-ups");
  s.add_int("idempotency.retention_s", v.idempotency_retention_s, 1, 30LL * 86400, "",
            "how long the answer to an Idempotency-Key is kept for replays");
  s.add_int("idempotency.lease_s", v.idempotency_lease_s, 1, 3600, "",
            "a claimed key whose instance died unlocks after this long");
  s.add_bool("idempotency.enabled", v.idempotency_enabled, "",
             "false: Idempotency-Key is ignored and a retried write is applied again (the lab's retry-unsafe "
             "design; never in production)");
  s.add_int("shop.max_upload_bytes", v.max_upload_bytes, 1, std::int64_t{1} << 34, "--max-upload-bytes",
            "largest upload accepted (413 above)");
  s.add_int("shop.recommendations_ttl_s", v.recommendations_ttl_s, 1, 86400, "",
            "how long computed recommendations stay cached per user");
  s.add_bool("readyz.require_store", v.readyz_require_store, "--readyz-require-store",
             "true: /readyz answers 503 while a shared network store (redis) does not answer; false: it stays "
             "200 with \"store\":\"unreachable\", so a store restart does not eject every server at once");
  s.add_string("metrics.listen", v.metrics_listen, "--metrics-listen",
               "IP:PORT of a separate listener for GET /metrics (the public port then answers it 404); empty: "
               "/metrics on the public port",
               [](std::string const& a) -> std::optional<std::string> {
                 if (a.empty() || io::parse_listen_endpoint(a)) return std::nullopt;
                 return "'" + a + "' is not IP:PORT (\"127.0.0.1:9100\", \"[::1]:9100\")";
               });
  s.add_int("shop.receipt_render_ms", v.receipt_render_ms, 0, 60'000, "",
            "how long rendering a receipt takes (a stand-in for a template and a mail API; the lab sets it)");
  s.add_int("shop.cart_abandon_after_s", v.cart_abandon_after_s, 1, 365LL * 86400, "",
            "the expire-carts task empties a cart untouched for this long");
  declare_realtime(s, v.realtime);
  declare_actors(s, v.actors);
  app::declare_jobs(s, v.jobs);
  declare_registry(s, v.registry, RegistryRole::serve);
  s.add_bool("log.access", v.access_log, "--access-log", "one JSON line per request on stdout");
  s.add_string("log.level", v.log_level, "--log-level", "trace, debug, info, warn, error",
               [](std::string const& l) -> std::optional<std::string> {
                 if (spdlog::level::from_str(l) == spdlog::level::off && l != "off") return "unknown log level '" + l + "'";
                 return std::nullopt;
               });
}

std::string default_blobs(std::string const& state_url) {
  auto parsed = state::parse_store_url(state_url);
  if (parsed && parsed->scheme == "sqlite") {
    auto dir = std::filesystem::path(parsed->path).parent_path();
    return "file://" + (dir.empty() ? std::string("blobs") : (dir / "blobs").string());
  }
  return "file://outboard-data/blobs";
}

// The token settings, keys read from their files. Throws (start-up) naming the file and the
// reason when a key file is missing, unreadable, too open, or not a key of its algorithm.
runtime::TokenConfig to_token_config(ServeSettings const& v) {
  if (v.signing_key_file.empty() || v.signing_kid.empty() || v.refresh_key_file.empty()) {
    throw core::ConfigError("auth.mode = " + v.auth_mode +
                            " needs auth.signing_key_file, auth.signing_kid and auth.refresh_key_file");
  }
  runtime::TokenConfig t;
  auth::KeyFile signing{v.signing_kid, *auth::parse_alg(v.signing_alg), v.signing_key_file};
  std::vector<auth::KeyFile> others;
  for (auto const& k : v.verification_keys) others.push_back(*parse_verification_key(k));  // checked when declared
  t.keys = std::make_shared<auth::KeySet const>(auth::load_key_set(signing, others));
  t.claims.issuer = v.issuer;
  t.claims.audience = v.audience;
  t.claims.leeway = std::chrono::seconds(v.leeway_s);
  t.access_ttl = core::Millis(v.access_ttl_s * 1000);
  t.refresh_key = std::make_shared<auth::RefreshKey const>(auth::RefreshKey::from_file(v.refresh_key_file));
  t.refresh.family_lifetime = core::Millis(v.refresh_ttl_s * 1000);
  t.refresh.grace = core::Millis(v.refresh_grace_ms);
  t.refresh.linger = core::Millis(v.refresh_linger_s * 1000);
  return t;
}

runtime::ServiceConfig to_service_config(ServeSettings const& v) {
  runtime::ServiceConfig c;
  c.server.address = v.listen;
  c.server.port = static_cast<std::uint16_t>(v.port);
  c.server.reuse_port = v.reuse_port;
  c.server.threads = v.threads > 0 ? static_cast<int>(v.threads)
                                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  c.server.max_body_bytes = static_cast<std::size_t>(v.max_body_bytes);
  c.server.max_header_bytes = static_cast<std::size_t>(v.max_header_bytes);
  c.server.read_timeout = core::Millis(v.read_timeout_ms);
  c.server.idle_timeout = core::Millis(v.idle_timeout_ms);
  c.drain_timeout = core::Millis(v.drain_timeout_ms);
  c.sessions_url = v.sessions.empty() ? v.state : v.sessions;
  c.data_url = v.data.empty() ? v.state : v.data;
  c.blobs_url = v.blobs.empty() ? default_blobs(v.state) : v.blobs;
  c.store_timeout = core::Millis(v.store_timeout_ms);
  c.near_cache_keys = static_cast<std::size_t>(v.near_cache_entries);
  c.near_cache_ttl = core::Millis(v.near_cache_ttl_ms);
  c.wait_replicas = static_cast<int>(v.wait_replicas);
  c.wait_timeout = core::Millis(v.wait_timeout_ms);
  // With Secure, the __Host- prefix: browsers then refuse the cookie unless it is Secure, has
  // Path=/ and no Domain, so a sibling subdomain or a plain-HTTP page cannot plant or overwrite it.
  bool prefixed = v.cookie_name.starts_with("__Host-");
  c.sessions.cookie_name = v.secure_cookie && !prefixed ? "__Host-" + v.cookie_name : v.cookie_name;
  c.sessions.secure_cookie = v.secure_cookie;
  c.sessions.idle_timeout = core::Millis(v.idle_timeout_s * 1000);
  c.sessions.absolute_timeout = core::Millis(v.absolute_timeout_s * 1000);
  c.sessions.touch_interval = core::Millis(v.touch_interval_s * 1000);
  for (auto const& k : v.session_keys) c.session_keys.push_back(*runtime::CookieSigner::decode_key(k));
  if (!v.session_keys_file.empty()) c.session_keys = runtime::load_session_keys_file(v.session_keys_file);
  for (auto const& b : v.trusted_proxies) c.trusted_proxies.add(b);  // checked when declared
  c.kdf = *runtime::parse_kdf_cost(v.kdf);
  c.kdf_threads = static_cast<int>(v.kdf_threads);
  c.kdf_queue = static_cast<int>(v.kdf_queue);
  c.throttle.account_failures = v.login_failures_per_account;
  c.throttle.client_failures = v.login_failures_per_client;
  c.throttle.failure_window = core::Millis(v.failure_window_s * 1000);
  c.throttle.lockout_base = core::Millis(v.lockout_base_s * 1000);
  c.throttle.lockout_max = core::Millis(v.lockout_max_s * 1000);
  c.throttle.signups_per_client = v.signups_per_client;
  c.throttle.signup_window = core::Millis(v.signup_window_s * 1000);
  c.idempotency.retention = core::Millis(v.idempotency_retention_s * 1000);
  c.idempotency.lease = core::Millis(v.idempotency_lease_s * 1000);
  c.idempotency.enabled = v.idempotency_enabled;
  c.access_log = v.access_log;
  c.readyz_require_store = v.readyz_require_store;
  c.metrics_listen = v.metrics_listen;
  c.auth_mode = *runtime::parse_auth_mode(v.auth_mode);
  if (runtime::accepts_tokens(c.auth_mode)) c.tokens = to_token_config(v);
  c.realtime = to_realtime_config(v.realtime);
  c.actors = to_actors_config(v.actors, v.realtime.allowed_origins);
  c.jobs = app::to_jobs_config(v.jobs);
  if (c.jobs) check_tasks(*c.jobs, shop::task_names());
  c.instance_id = v.instance;
  if (c.instance_id.empty()) {
    // host:port, or host:pid when the port is picked by the kernel (unknown until bound).
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    c.instance_id = std::string(host) + ":" + std::to_string(v.port != 0 ? v.port : getpid());
  }
  return c;
}

// Settings that are each fine alone but not together, and the refused --session-keys.
void check_combinations(ServeSettings const& v) {
  if (v.session_keys_on_argv) {
    throw core::ConfigError(
        "flag --session-keys: signing keys on the command line are readable by every local user (ps, "
        "/proc/PID/cmdline); put them in a file given with --session-keys-file PATH (one key per line, "
        "mode 0600) or in the environment variable OUTBOARD_SERVE_SESSIONS_KEYS");
  }
  if (!v.session_keys.empty() && !v.session_keys_file.empty()) {
    throw core::ConfigError("sessions.keys and sessions.keys_file are both set: give the keys one way");
  }
  bool prefixed = v.cookie_name.starts_with("__Host-") || v.cookie_name.starts_with("__Secure-");
  if (prefixed && !v.secure_cookie) {
    throw core::ConfigError("sessions.cookie_name '" + v.cookie_name +
                            "': browsers drop a __Host- or __Secure- cookie without Secure; set sessions.secure_cookie");
  }
  if (v.lockout_max_s < v.lockout_base_s) {
    throw core::ConfigError("throttle.lockout_max_s is shorter than throttle.lockout_base_s");
  }
  // WAIT runs under the connection's command timeout: a longer wait would drop the connection.
  if (v.wait_replicas > 0 && v.wait_timeout_ms >= v.store_timeout_ms) {
    throw core::ConfigError("state.wait_timeout_ms (" + std::to_string(v.wait_timeout_ms) +
                            ") must be below state.timeout_ms (" + std::to_string(v.store_timeout_ms) + ")");
  }
}

int run_serve(core::Settings& settings, ServeSettings& v, RouterHook const& customize_routes) {
  settings.resolve(core::Settings::process_environment());
  check_combinations(v);
  // Reads the key files (session keys, token keys): part of the check.
  runtime::ServiceConfig config = to_service_config(v);
  to_registration(v.registry, v.listen, static_cast<std::uint16_t>(v.port));  // the check: advertise
  if (settings.check_requested()) {
    // Valid as a start would find it; nothing bound, no store opened, no directory made.
    std::cout << settings.effective_configuration() << std::flush;
    return 0;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("serve"));
  spdlog::set_level(spdlog::level::from_str(v.log_level));

  if (v.state == kDefaultState) std::filesystem::create_directories("outboard-data");
  if (!v.idempotency_enabled) {
    spdlog::warn("idempotency.enabled = false: Idempotency-Key is ignored, so a retried write is applied twice");
  }

  // SIGTERM and SIGINT are taken by this thread alone (sigwait below); worker threads inherit
  // the blocked mask, so a signal never interrupts them mid-request.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  core::SystemClock clock;
  shop::ShopConfig shop_config;
  shop_config.max_upload_bytes = static_cast<std::size_t>(v.max_upload_bytes);
  shop_config.min_password_length = static_cast<std::size_t>(v.min_password_length);
  shop_config.recommendations_ttl = std::chrono::seconds(v.recommendations_ttl_s);
  runtime::Router routes = shop::make_router(shop_config);
  if (customize_routes) customize_routes(routes);
  shop::ReceiptConfig receipts;
  receipts.render_time = std::chrono::milliseconds(v.receipt_render_ms);
  receipts.cart_abandon_after = std::chrono::seconds(v.cart_abandon_after_s);
  runtime::Service service(config, clock, std::move(routes), shop::make_job_handlers(receipts));
  service.start();
  std::string url = "http://" + config.server.address + ":" + std::to_string(service.port());
  // Store locations without their passwords (a redis URL may carry one).
  std::cout << "outboard serve: instance " << service.config().instance_id << " listening on " << url << " ("
            << config.server.threads << " threads, sessions " << runtime::store_location(config.sessions_url)
            << ", data " << runtime::store_location(config.data_url) << ", blobs " << config.blobs_url << ")\n";
  if (service.metrics_port() != 0) {
    std::cout << "metrics on http://" << config.metrics_listen << "/metrics (not on the public port)\n";
  }
  std::cout
            << "try: curl -i " << url << "/healthz\n"
            << "     curl -i -X POST " << url
            << "/signup -H 'Content-Type: application/json' -d '{\"user\":\"ada\",\"password\":\"correct-horse\"}'\n"
            << std::flush;

  std::unique_ptr<registry::Registration> registration;
  if (auto options = to_registration(v.registry, config.server.address, static_cast<std::uint16_t>(service.port()))) {
    registration = std::make_unique<registry::Registration>(std::move(*options), clock);
    std::cout << "registering as " << registration->key() << " in " << v.registry.url << "\n" << std::flush;
    registration->start();
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("{}: draining (up to {} ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT", v.drain_timeout_ms);
  if (registration) {
    // Gateways learn "draining" from the registry and stop sending new requests; the delay gives
    // them that time before this server stops taking connections.
    registration->drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(v.registry.deregister_delay_ms));
  }
  bool clean = service.drain();
  if (registration) registration->stop();  // the lease revoked: the entry goes at once
  if (!clean) spdlog::warn("drain deadline passed with requests still in flight; they were cut");
  spdlog::info("stopped");
  return 0;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app, RouterHook customize_routes) {
  auto* cmd = app.add_subcommand("serve", "run the reference shop service on the service runtime");
  auto values = std::make_shared<ServeSettings>();
  auto settings = std::make_shared<core::Settings>("serve");
  declare(*settings, *values);
  settings->register_flags(*cmd);
  // Taken only to be refused with a clear message (check_combinations), not as an unknown flag.
  cmd->add_option_function<std::string>(
         "--session-keys", [values](std::string const& text) { values->session_keys_on_argv = text; },
         "REFUSED: keys on argv are readable by every local user; use --session-keys-file or OUTBOARD_SERVE_SESSIONS_KEYS")
      ->type_name("");
  return [cmd, values, settings, customize_routes]() -> int {
    if (!cmd->parsed()) return 0;
    return run_serve(*settings, *values, customize_routes);
  };
}

}  // namespace outboard::app
