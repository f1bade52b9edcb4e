#include "runtime/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <variant>

#include "core/process_metrics.hpp"
#include "core/random.hpp"
#include "io/listener.hpp"
#include "runtime/access_log.hpp"
#include "runtime/context.hpp"
#include "runtime/errors.hpp"
#include "runtime/instrumented_store.hpp"
#include "actors/actor_host.hpp"
#include "actors/forward.hpp"
#include "runtime/rooms_route.hpp"
#include "runtime/websocket_route.hpp"
#include "jobs/metrics.hpp"
#include "jobs/runner.hpp"
#include "realtime/hub.hpp"

namespace outboard::runtime {
namespace asio = boost::asio;
using http::Status;

namespace {

// Fresh ids of one worker thread, for request ids and idempotency claim tokens:
// "<16 hex digits chosen at random once>-<count in hex>". Unique across threads, processes and
// restarts (64 random bits each), never reused within one; neither needs secrecy, so an id costs
// a counter instead of a CSPRNG call (about 6% of a GET /me's instructions each).
class RequestIds {
 public:
  RequestIds() : prefix_(core::hex_encode(core::random_bytes(8)) + '-') {}

  std::string next() {
    char digits[16];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, ++issued_, 16);
    std::string id = prefix_;
    id.append(digits, end);
    return id;
  }

 private:
  std::string prefix_;
  std::uint64_t issued_ = 0;
};

// X-Request-Id from the client when it looks like an id, else a fresh one.
std::string request_id_for(http::Request const& request, RequestIds& ids) {
  std::string_view given = request["X-Request-Id"];
  bool usable = !given.empty() && given.size() <= 128;
  for (char c : given) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
    usable = usable && ok;
  }
  return usable ? std::string(given) : ids.next();
}

// A streamed request body that counts what the handler pulled through it, for the byte counters.
class CountingBody final : public io::BodyStream {
 public:
  explicit CountingBody(io::BodyStream& inner) : inner_(inner) {}
  asio::awaitable<core::Result<std::string>> read() override {
    auto piece = co_await inner_.read();
    if (piece) bytes_ += piece->size();
    co_return piece;
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  io::BodyStream& inner_;
  std::uint64_t bytes_ = 0;
};

// The metrics listener's handler (metrics.listen): GET /metrics and nothing else.
class MetricsOnlyHandler final : public io::RequestHandler {
 public:
  explicit MetricsOnlyHandler(std::function<http::Response()> render) : render_(std::move(render)) {}
  asio::awaitable<http::Response> handle(http::Request request, io::BodyStream*, io::ConnectionInfo) override {
    std::string_view target = request.target();
    if (target.substr(0, target.find('?')) != "/metrics") {
      co_return http::json_error(Status::not_found, "not_found", "this listener serves GET /metrics only");
    }
    co_return render_();
  }

 private:
  std::function<http::Response()> render_;
};

void render_kdf_counts(std::string& out, KdfCounts counts) {
  out += "# HELP outboard_kdf_hashes_total Passwords hashed (sign-ups).\n# TYPE outboard_kdf_hashes_total counter\n";
  out += "outboard_kdf_hashes_total " + std::to_string(counts.hashes) + "\n";
  out += "# HELP outboard_kdf_verifications_total Password checks, unknown users' dummy checks included.\n"
         "# TYPE outboard_kdf_verifications_total counter\n";
  out += "outboard_kdf_verifications_total " + std::to_string(counts.verifications) + "\n";
  out += "# HELP outboard_kdf_busy_total KDF calls refused (503 kdf_busy) because the queue was full.\n"
         "# TYPE outboard_kdf_busy_total counter\n";
  out += "outboard_kdf_busy_total " + std::to_string(counts.busy) + "\n";
}

// What IdempotentCall::begin answered instead of running the handler.
KeyOutcome key_outcome_of(http::Response const& answer) {
  switch (answer.result()) {
    case Status::conflict: return KeyOutcome::in_progress;
    case Status::unprocessable_entity: return KeyOutcome::reused;
    default: return KeyOutcome::replayed;
  }
}

}  // namespace

// The middleware chain of one worker thread, in order: request id, access log, sessions,
// idempotency, handler, metrics; plus /healthz, /readyz and /metrics. Owns this thread's store
// handles and metrics shard.
class Service::ThreadHandler final : public io::RequestHandler {
 public:
  ThreadHandler(Service& service, asio::any_io_executor executor, io::HttpServer const& server, int shard)
      : service_(service),
        server_(server),
        shard_(service.metrics_->shard(shard)),
        raw_sessions_(service.sessions_provider_->store_for(executor)),
        // Timed by role: with one store for both, its operations still show as sessions or data.
        sessions_health_(*service.sessions_health_),
        data_health_(service.data_health_ ? *service.data_health_ : *service.sessions_health_),
        sessions_(instrument(raw_sessions_, shard_, service.metrics_->store_index("sessions"), sessions_health_)),
        data_(instrument(service.data_provider_ ? service.data_provider_->store_for(executor) : raw_sessions_, shard_,
                         service.metrics_->store_index("data"), data_health_)),
        services_{service.config_.instance_id, *data_, *sessions_, *service.blobs_, *service.hasher_, service.clock_,
                  service.config_.throttle} {
    // Token state lives beside the sessions (the store whose near-cache serves every request).
    services_.auth_mode = service.config_.auth_mode;
    if (service.tokens_) {
      tokens_ = std::make_unique<ThreadTokens>(*service.tokens_, *sessions_);
      services_.tokens = tokens_.get();
    }
    // Presence is short-lived like sessions: it lives beside them.
    if (service.realtime_) {
      realtime_ = std::make_unique<realtime::ThreadHub>(*service.realtime_, executor, *sessions_, shard);
      services_.realtime = realtime_.get();
    }
    services_.rooms = service.rooms_.get();
    if (service.job_queues_) {
      job_queue_ = service.job_queues_->queue_for(executor);
      services_.jobs = job_queue_.get();
      services_.jobs_nudge = [runner = service.jobs_.get()] { runner->nudge(); };
    }
  }

  std::optional<std::size_t> stream_limit(boost::beast::http::request_header<> const& header) override {
    auto match = service_.router_.match(header.method(), header.target());
    return match.options ? match.options->stream_limit : std::nullopt;
  }

  asio::awaitable<http::Response> handle(http::Request request, io::BodyStream* body,
                                         io::ConnectionInfo connection) override {
    auto start = std::chrono::steady_clock::now();
    std::string request_id = request_id_for(request, request_ids_);
    int route = -1;
    std::uint64_t request_bytes = request.body().size();
    std::optional<CountingBody> counted;  // a streamed body is counted as the handler reads it
    if (body) counted.emplace(*body);
    http::Response response = co_await dispatch(request, counted ? &*counted : nullptr, connection, route);
    if (counted) request_bytes = counted->bytes();
    decorate(response);
    response.set("X-Request-Id", request_id);
    if (request.method() == http::bhttp::verb::head) {
      response.body().clear();  // the Content-Length stays that of the GET
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    ServiceMetrics::count_request(shard_, route, response.result_int(), took.count(), request_bytes,
                                  response.body().size());
    if (service_.config_.access_log) {
      log_access(request, response, request_id, client_of(request, connection), route, took.count());
    }
    co_return response;
  }

  void decorate(http::Response& response) override {
    response.set("X-Served-By", service_.config_.instance_id);
  }

  // A request the server refused before it could be handled (400, 408, 413, 431): still counted,
  // logged and given an id, so no answer goes unseen.
  void rejected(http::Request const& header, http::Response& response, io::ConnectionInfo const& connection) override {
    refused(header, response, {}, connection);
  }

  // The same for a rule of the strict HTTP layer: the access-log line names the rule.
  void refused(http::Request const& header, http::Response& response, std::string_view rule,
               io::ConnectionInfo const& connection) override {
    decorate(response);
    std::string request_id = request_id_for(header, request_ids_);
    response.set("X-Request-Id", request_id);
    ServiceMetrics::count_request(shard_, -1, response.result_int(), 0.0, 0, response.body().size());
    if (service_.config_.access_log) {
      log_access(header, response, request_id, client_of(header, connection), -1, 0.0, rule);
    }
  }

 private:
  // Who sent the request (runtime/client_address.hpp): for per-client limits and the access log.
  std::string client_of(http::Request const& request, io::ConnectionInfo const& connection) const {
    return client_address(connection.peer, request["X-Forwarded-For"], service_.config_.trusted_proxies);
  }

  // `connection` by reference, not by value: a parameter with a non-trivial member copied inside
  // the caller's co_await is the kind of temporary g++ 12 may destroy twice; it lives in
  // handle()'s frame, which awaits this call to its end.
  asio::awaitable<http::Response> dispatch(http::Request& request, io::BodyStream* body,
                                           io::ConnectionInfo const& connection, int& route) {
    std::string_view target = request.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
      co_return http::json_response(Status::ok, {{"status", "ok"}, {"instance", service_.config_.instance_id}});
    }
    if (path == "/readyz") co_return co_await readiness();
    // With a metrics listener of its own, /metrics is not on this port at all (a 404 below).
    if (path == "/metrics" && service_.config_.metrics_listen.empty()) co_return service_.metrics_response();

    auto match = service_.router_.match(request.method(), target);
    if (!match.handler) {
      if (match.allow.empty()) {
        co_return http::json_error(Status::not_found, "not_found",
                                   "no route for " + std::string(request.method_string()) + " " + std::string(path));
      }
      auto res = http::json_error(Status::method_not_allowed, "method_not_allowed",
                                  std::string(request.method_string()) + " is not allowed on " + match.route);
      res.set(http::bhttp::field::allow, match.allow);
      co_return res;
    }
    route = match.index;

    std::optional<BearerIdentity> bearer;
    if (tokens_ && !match.options->ignores_bearer) {
      if (auto token = bearer_token(request[http::bhttp::field::authorization])) {
        std::string text(*token);  // named: no temporaries inside co_await (g++ 12)
        auto outcome = co_await authenticate_bearer(*tokens_, std::move(text));
        if (auto* error = std::get_if<core::Error>(&outcome)) co_return error_response(*error);
        if (std::holds_alternative<std::size_t>(outcome)) co_return invalid_token_response();
        bearer = std::move(std::get<BearerIdentity>(outcome));
      }
    }
    // In jwt mode a cookie is not a credential: the session is always the empty one.
    std::string_view cookies;
    if (accepts_cookies(service_.config_.auth_mode)) cookies = request[http::bhttp::field::cookie];
    Session session(SessionEnv{*sessions_, signer_, service_.config_.sessions, service_.clock_}, cookies);
    RequestContext context(request, session, std::move(match.params), services_, body);
    // The address is formatted only if a handler asks (sign-up, login): not on every request.
    context.set_client_source({connection.peer, request["X-Forwarded-For"], &service_.config_.trusted_proxies});
    if (bearer) context.set_bearer(std::move(*bearer));
    context.set_takeover_slot(connection.takeover);
    // if/else, not ?: with a co_await in each arm: g++ 12 destroys that temporary twice.
    http::Response response;
    if (match.options->idempotent) {
      response = co_await run_idempotent(context, *match.handler);
    } else {
      response = co_await run_and_commit(context, *match.handler);
    }
    // RFC 7235 3.1: a 401 names the scheme to use. Without a token, no error code (RFC 6750 3).
    if (tokens_ && response.result() == Status::unauthorized && response[http::bhttp::field::www_authenticate].empty()) {
      response.set(http::bhttp::field::www_authenticate, "Bearer");
    }
    co_return response;
  }

  // The handler, then the session's writes (only what changed, once). A failed write fails the
  // request: the client must not believe a login that was not stored.
  asio::awaitable<http::Response> run_and_commit(RequestContext& context, Handler const& handler) {
    http::Response response = co_await handler(context);
    co_return co_await commit_session(context.session(), std::move(response));
  }

  static asio::awaitable<http::Response> commit_session(Session& session, http::Response response) {
    if (response.result_int() >= 500) co_return response;
    auto committed = co_await session.commit(response);
    if (committed) co_return response;
    auto const& error = committed.error();
    if (error.code == core::Errc::unavailable || error.code == core::Errc::timeout) co_return error_response(error);
    // Any other store failure is still "not saved, try again": the request's writes are safe
    // to repeat (idempotent routes re-run with the same key), a 2xx without the session is not.
    spdlog::warn("session not saved: {}", error.describe());
    auto failed = http::json_error(Status::service_unavailable, "session_not_saved",
                                   "the session could not be saved; retry shortly");
    failed.set(http::bhttp::field::retry_after, "1");
    co_return failed;
  }

  // Idempotency-Key handling around a handler (see runtime/idempotency.hpp). The answer is
  // recorded only after the handler's writes and the session commit both succeeded: recorded
  // before the commit, a failed commit would answer 503 while the record kept a 2xx for replays.
  asio::awaitable<http::Response> run_idempotent(RequestContext& context, Handler const& handler) {
    auto gate = co_await idempotency_gate(context);
    if (auto* early = std::get_if<http::Response>(&gate)) {
      co_return co_await commit_session(context.session(), std::move(*early));
    }
    if (!service_.config_.idempotency.enabled) {
      // Keys ignored: a repeated delivery makes its effect again, under a new id.
      context.set_idempotent_id(core::hex_encode(core::random_bytes(16)));
      co_return co_await run_and_commit(context, handler);
    }
    IdempotentCall call(*data_, service_.config_.idempotency, std::get<std::string>(gate),
                        context.request()["Idempotency-Key"],
                        request_fingerprint(context.request()), request_ids_.next());
    auto outcome = co_await call.begin();
    if (!outcome) co_return error_response(outcome.error());
    if (auto* answer = std::get_if<IdempotentCall::Answer>(&*outcome)) {
      ServiceMetrics::count_key(shard_, key_outcome_of(*answer));
      co_return co_await commit_session(context.session(), std::move(*answer));
    }
    ServiceMetrics::count_key(shard_, KeyOutcome::ran);

    context.set_idempotent_id(call.derived_id());
    // A 5xx here, the handler's or the commit's, makes finish() release the claim.
    http::Response response = co_await run_and_commit(context, handler);
    if (auto recorded = co_await call.finish(response); !recorded) {
      spdlog::warn("idempotency record not written: {}", recorded.error().describe());
    }
    co_return response;
  }

  // Before any claim: the user (keys are scoped to the user, and an anonymous caller learns
  // nothing about keys) and the key's format. The user, or the answer to send instead.
  using UserOrAnswer = std::variant<std::string, http::Response>;
  static asio::awaitable<UserOrAnswer> idempotency_gate(RequestContext& context) {
    auto user = co_await context.current_user();
    // Decided in a plain function and returned as one named value: g++ 12 at -O2 warns
    // (maybe-uninitialized) on a variant temporary built inside a co_return.
    UserOrAnswer gate = gate_for(context, user);
    co_return gate;
  }

  template <class UserResult>
  static UserOrAnswer gate_for(RequestContext& context, UserResult& user) {
    if (!user) return error_response(user.error());
    if (!*user) return http::json_error(Status::unauthorized, "unauthorized", "not logged in");
    std::string_view key = context.request()["Idempotency-Key"];
    if (key.empty()) {
      return http::json_error(Status::bad_request, "idempotency_key_required", "this route needs an Idempotency-Key header");
    }
    if (auto why = check_idempotency_key(key)) {
      return http::json_error(Status::bad_request, "invalid_idempotency_key", *why);
    }
    return std::move(**user);
  }

  // Not ready when this server is broken: draining, or a store of its own (memory, SQLite) it
  // cannot use. A shared network store (redis) that does not answer is every server's outage at
  // once: failing readiness for it would make the gateway eject every server together (a
  // health cascade) and re-pin every sticky user, for no gain. So by default this server stays
  // ready and says so ("store":"unreachable"); requests that need the store still answer 503
  // store_unavailable. readyz_require_store restores the strict rule. The store's address is in
  // the log (StoreHealth), never in this answer.
  asio::awaitable<http::Response> readiness() {
    if (server_.draining()) {
      co_return http::json_error(Status::service_unavailable, "draining", "this instance is shutting down");
    }
    bool shared_store_down = false;
    for (auto [store, health] : {std::pair{sessions_.get(), &sessions_health_}, std::pair{data_.get(), &data_health_}}) {
      if (auto ok = co_await store->ping(); ok) continue;
      if (!health->shared() || service_.config_.readyz_require_store) {
        co_return http::json_error(Status::service_unavailable, "store_unavailable",
                                   "a state store this instance needs does not answer");
      }
      shared_store_down = true;
    }
    co_return http::json_response(Status::ok, {{"ready", true},
                                               {"instance", service_.config_.instance_id},
                                               {"store", shared_store_down ? "unreachable" : "ok"}});
  }

  void log_access(http::Request const& request, http::Response const& response, std::string const& request_id,
                  std::string const& client, int route, double seconds, std::string_view rule = {}) {
    std::string_view target = request.target();
    AccessEntry entry;
    entry.time_ms = service_.clock_.now_ms();
    entry.instance = service_.config_.instance_id;
    entry.request_id = request_id;
    entry.client = client;
    entry.method = request.method_string();
    entry.path = target.substr(0, target.find('?'));
    if (route >= 0) entry.route = service_.route_names_[static_cast<std::size_t>(route)].pattern;
    entry.status = response.result_int();
    entry.bytes = response.body().size();
    entry.seconds = seconds;
    entry.error = rule;
    service_.access_log_->info(access_log_line(entry));
  }

  Service& service_;
  io::HttpServer const& server_;
  ServiceMetrics::Shard& shard_;
  std::shared_ptr<state::Store> raw_sessions_;
  StoreHealth& sessions_health_;
  StoreHealth& data_health_;
  std::shared_ptr<state::Store> sessions_;
  std::shared_ptr<state::Store> data_;
  ThreadServices services_;
  RequestIds request_ids_;
  CookieSigner signer_{service_.signing_keys_};  // this thread's: it reuses its HMAC contexts
  std::unique_ptr<ThreadTokens> tokens_;  // null in cookie mode; uses sessions_
  std::unique_ptr<realtime::ThreadHub> realtime_;  // null when realtime is off; uses sessions_
  std::shared_ptr<state::JobQueue> job_queue_;     // null when jobs are off
};

namespace {
// Redis is the network store every server shares; memory and SQLite belong to this host.
std::unique_ptr<StoreHealth> make_health(std::string const& role, std::string const& url) {
  std::string location = store_location(url);
  return std::make_unique<StoreHealth>(role + " store (" + location + ")", location.starts_with("redis "));
}
}  // namespace

Service::Service(ServiceConfig config, core::Clock const& clock, Router routes, JobHandlers handlers)
    : config_(std::move(config)), clock_(clock), router_(std::move(routes)), job_handlers_(std::move(handlers)) {}

Service::~Service() {
  // The rooms' thread uses the data store and delivers to connections: it stops before them.
  if (actors_) actors_->stop();
  // The job runner's thread uses the stores and queues: it stops before they go.
  if (jobs_) jobs_->stop();
  // The feed's reader posts to the worker threads: it stops before their event loops go.
  if (realtime_) realtime_->stop();
  // The servers' threads use everything else: stop them first.
  metrics_server_.reset();
  server_.reset();
}

std::vector<std::string> Service::resolve_session_keys() {
  if (!config_.session_keys.empty()) return config_.session_keys;
  // No key configured: keep one in the session store, so instances sharing the store share it.
  // set_if_absent makes the first instance's key the key, whoever starts first.
  asio::io_context io;
  auto store = sessions_provider_->store_for(io.get_executor());
  auto op = [&]() -> state::Async<std::string> {
    std::string candidate = core::hex_encode(core::random_bytes(32));
    auto put = co_await store->set_if_absent("outboard:session-signing-key", candidate);
    if (!put) co_return put.error();
    auto got = co_await store->get("outboard:session-signing-key");
    if (!got) co_return got.error();
    if (!*got) co_return core::make_error(core::Errc::internal, "signing key vanished");
    co_return **got;
  };
  auto future = asio::co_spawn(io, op(), asio::use_future);
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one_for(std::chrono::milliseconds(50)) == 0) io.restart();
  }
  auto key = future.get();
  // Let the store release this temporary event loop before it goes (a pool thread may still hold
  // its executor for a moment, a redis reader its socket): bounded, it is start-up.
  store.reset();
  io.restart();
  io.run_for(std::chrono::seconds(2));
  if (!key) {
    throw std::runtime_error("no sessions.keys configured and the session store could not provide one (" +
                             key.error().describe() + ")");
  }
  auto raw = CookieSigner::decode_key(*key);
  if (!raw) throw std::runtime_error("the session store holds a malformed signing key");
  spdlog::info("no sessions.keys configured: using the signing key kept in the session store");
  return {*raw};
}

void Service::start() {
  state::StoreOptions options;
  options.clock = &clock_;
  options.command_timeout = config_.store_timeout;
  options.near_cache_keys = config_.near_cache_keys;
  options.near_cache_ttl = config_.near_cache_ttl;
  options.wait_replicas = config_.wait_replicas;
  options.wait_timeout = config_.wait_timeout;
  try {
    sessions_provider_ = state::open_store(config_.sessions_url, options);
    bool one_store = config_.data_url == config_.sessions_url;
    if (!one_store) data_provider_ = state::open_store(config_.data_url, options);
    sessions_health_ = make_health(one_store ? "sessions and data" : "sessions", config_.sessions_url);
    if (!one_store) data_health_ = make_health("data", config_.data_url);
    blobs_ = state::open_blob_store(config_.blobs_url);
  } catch (std::invalid_argument const& e) {
    throw std::runtime_error(e.what());
  }
  signing_keys_ = resolve_session_keys();
  // Refuses a bad key here, at start-up, rather than when a worker thread makes its own.
  [[maybe_unused]] CookieSigner check_keys(signing_keys_);
  hasher_ = std::make_unique<PasswordHasher>(config_.kdf, config_.kdf_threads, config_.kdf_queue);
  if (config_.realtime) start_realtime(options);
  if (config_.jobs) start_jobs(options);
  if (config_.actors) start_actors();
  route_names_ = router_.names();
  if (accepts_tokens(config_.auth_mode)) {
    if (!config_.tokens) throw std::runtime_error("auth mode " + std::string(to_string(config_.auth_mode)) + " needs token keys");
    try {
      tokens_ = std::make_unique<TokenService>(*config_.tokens, clock_);
    } catch (std::invalid_argument const& e) {
      throw std::runtime_error(std::string("auth: ") + e.what());
    }
  }
  metrics_ = std::make_unique<ServiceMetrics>(route_names_, std::vector<std::string>{"sessions", "data"},
                                              std::max(1, config_.server.threads));
  if (config_.access_log) {
    access_log_ = spdlog::stdout_logger_mt("access-" + config_.instance_id);
    access_log_->set_pattern("%v");
  }
  server_ = std::make_unique<io::HttpServer>(
      config_.server, [this](asio::any_io_executor executor, io::HttpServer const& server) {
        return std::make_shared<ThreadHandler>(*this, executor, server, next_shard_++);
      });
  server_->start();
  if (!config_.metrics_listen.empty()) start_metrics_listener();
}

void Service::start_realtime(state::StoreOptions const& options) {
  auto config = *config_.realtime;
  if (config.feed_url.empty()) config.feed_url = config_.data_url;
  try {
    realtime_ = std::make_unique<realtime::Hub>(std::move(config), options, clock_, config_.instance_id,
                                                std::max(1, config_.server.threads));
  } catch (std::invalid_argument const& e) {
    throw std::runtime_error(std::string("realtime.url: ") + e.what());
  }
  realtime_->start();
  router_.add(http::bhttp::verb::get, "/ws", websocket_route());
}

void Service::start_actors() {
  actors::ActorsConfig config = *config_.actors;
  if (config.advertise.empty() && config.mode != actors::Mode::local) {
    if (config_.server.port == 0) {
      throw std::runtime_error("actors: a server listening on port 0 must set actors.advertise (host:port its peers reach)");
    }
    config.advertise = config_.server.address + ":" + std::to_string(config_.server.port);
  }
  state::StoreProvider& data = data_provider_ ? *data_provider_ : *sessions_provider_;
  std::vector<std::string> origins = config.allowed_origins;
  try {
    actors_ = std::make_unique<actors::ActorHost>(std::move(config), data, clock_, config_.instance_id);
  } catch (std::invalid_argument const& e) {
    throw std::runtime_error(e.what());
  }
  relays_ = std::make_unique<actors::Relays>();
  rooms_ = std::make_unique<RoomServices>(RoomServices{*actors_, *relays_, std::move(origins)});
  actors_->start();
  router_.add(http::bhttp::verb::get, "/rooms/{id}", rooms_route());
}

void Service::start_jobs(state::StoreOptions const& options) {
  jobs::JobsConfig const& config = *config_.jobs;
  state::StoreProvider& data = data_provider_ ? *data_provider_ : *sessions_provider_;
  std::string queue_url = config_.data_url;
  state::StoreProvider* queue_home = &data;
  if (config.queue == jobs::QueueKind::memory) {
    // The anti-pattern, kept for the lab: a queue in this process only. Its fences live in its
    // own store, so fenced commits against the data store could never pass: refused together.
    if (config.fencing && data.backend() != "memory") {
      throw std::runtime_error("jobs.queue = \"memory\" keeps fences in this process: set jobs.fencing = false, "
                               "or put the queue in the data store (jobs.queue = \"store\")");
    }
    jobs_memory_ = state::open_store("memory://", options);
    queue_home = jobs_memory_.get();
    queue_url = "memory://";
  }
  try {
    job_queues_ = state::open_job_queue(queue_url, *queue_home, options, state::JobQueueOptions{});
  } catch (std::invalid_argument const& e) {
    throw std::runtime_error(std::string("jobs: ") + e.what());
  }
  job_metrics_ = std::make_unique<jobs::JobMetrics>();
  jobs_ = std::make_unique<jobs::Runner>(config, *job_queues_, data, clock_, config_.instance_id, *job_metrics_);
  for (auto& [type, handler] : job_handlers_.jobs) jobs_->add(type, std::move(handler));
  for (auto& [name, task] : job_handlers_.tasks) jobs_->add_task(name, std::move(task));
  jobs_->start();
}

void Service::start_metrics_listener() {
  auto endpoint = io::parse_listen_endpoint(config_.metrics_listen);
  if (!endpoint) throw std::runtime_error("metrics.listen '" + config_.metrics_listen + "' is not IP:PORT");
  io::ServerOptions options;
  options.address = endpoint->address().to_string();
  options.port = endpoint->port();
  options.threads = 1;
  options.reuse_port = config_.server.reuse_port;  // a restart shares both ports, or neither
  options.max_body_bytes = 0;
  metrics_server_ = std::make_unique<io::HttpServer>(options, [this](asio::any_io_executor, io::HttpServer const&) {
    return std::make_shared<MetricsOnlyHandler>([this] { return metrics_response(); });
  });
  metrics_server_->start();
}

http::Response Service::metrics_response() const {
  http::Response res{Status::ok, 11};
  res.set(http::bhttp::field::content_type, "text/plain; version=0.0.4");
  res.body() = metrics_->render();
  std::vector<std::pair<std::string, state::NearCacheStats>> near_caches;
  if (auto s = sessions_provider_->near_cache_stats()) near_caches.emplace_back("sessions", *s);
  if (data_provider_) {
    if (auto s = data_provider_->near_cache_stats()) near_caches.emplace_back("data", *s);
  }
  render_near_caches(res.body(), near_caches);
  render_kdf_counts(res.body(), hasher_->counts());
  if (tokens_) tokens_->metrics().render(res.body());
  if (realtime_) realtime_->metrics().render(res.body());
  if (job_metrics_) job_metrics_->render(res.body());
  if (actors_) actors_->metrics().render(res.body());
  core::render_process_metrics(res.body(), "serve");
  res.prepare_payload();
  return res;
}

bool Service::drain() {
  // WebSockets get their close frame (1001) first, so clients reconnect elsewhere at once; the
  // server's drain then waits for them like for any connection.
  if (realtime_) realtime_->drain();
  // Game rooms: checkpointed and released (players get 1001 and reconnect to the next owner),
  // and the players relayed to other owners cut, so nothing holds the drain.
  if (actors_) actors_->stop();
  if (relays_) relays_->cut_all();
  // The metrics listener answers through the drain (a scrape sees it), then stops.
  bool finished = server_->drain(config_.drain_timeout);
  // Requests are done (no more enqueues from here): running jobs finish within their grace, the
  // others are handed back to the queue for another instance.
  if (jobs_) jobs_->drain();
  if (metrics_server_) metrics_server_->stop();
  return finished;
}

}  // namespace outboard::runtime
