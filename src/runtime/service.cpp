#include "runtime/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/random.hpp"
#include "runtime/context.hpp"
#include "runtime/errors.hpp"

namespace outboard::runtime {
namespace asio = boost::asio;
using http::Status;

// The middleware chain of one worker thread: health endpoints, routing, the session around the
// handler, X-Served-By on every answer. Owns this thread's store handles.
class Service::ThreadHandler final : public io::RequestHandler {
 public:
  ThreadHandler(Service& service, asio::any_io_executor executor, io::HttpServer const& server)
      : service_(service),
        server_(server),
        sessions_(service.sessions_provider_->store_for(executor)),
        data_(service.data_provider_ ? service.data_provider_->store_for(executor) : sessions_),
        services_{service.config_.instance_id, *data_, *sessions_, *service.blobs_, *service.hasher_} {}

  asio::awaitable<http::Response> handle(http::Request request) override {
    http::Response response = co_await dispatch(request);
    decorate(response);
    if (request.method() == http::bhttp::verb::head) {
      response.body().clear();  // the Content-Length stays that of the GET
    }
    co_return response;
  }

  void decorate(http::Response& response) override {
    response.set("X-Served-By", service_.config_.instance_id);
  }

 private:
  asio::awaitable<http::Response> dispatch(http::Request& request) {
    std::string_view target = request.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
      co_return http::json_response(Status::ok, {{"status", "ok"}, {"instance", service_.config_.instance_id}});
    }
    if (path == "/readyz") co_return co_await readiness();

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

    Session session(SessionEnv{*sessions_, *service_.signer_, service_.config_.sessions, service_.clock_},
                    request[http::bhttp::field::cookie]);
    RequestContext context(request, session, std::move(match.params), services_);
    http::Response response = co_await (*match.handler)(context);
    if (response.result_int() < 500) {
      // The session is written after the handler, once, with only what changed. A failed
      // write fails the request: the client must not believe a login that was not stored.
      if (auto committed = co_await session.commit(response); !committed) {
        co_return error_response(committed.error());
      }
    }
    co_return response;
  }

  asio::awaitable<http::Response> readiness() {
    if (server_.draining()) {
      co_return http::json_error(Status::service_unavailable, "draining", "this instance is shutting down");
    }
    for (state::Store* store : {sessions_.get(), data_.get()}) {
      if (auto ok = co_await store->ping(); !ok) {
        co_return http::json_error(Status::service_unavailable, "store_unavailable",
                                   std::string(store->backend()) + " store: " + ok.error().describe());
      }
    }
    co_return http::json_response(Status::ok, {{"ready", true}, {"instance", service_.config_.instance_id}});
  }

  Service& service_;
  io::HttpServer const& server_;
  std::shared_ptr<state::Store> sessions_;
  std::shared_ptr<state::Store> data_;
  ThreadServices services_;
};

Service::Service(ServiceConfig config, core::Clock const& clock, Router routes)
    : config_(std::move(config)), clock_(clock), router_(std::move(routes)) {}

Service::~Service() {
  // The server's threads use everything else: stop them first.
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
  try {
    sessions_provider_ = state::open_store(config_.sessions_url, options);
    if (config_.data_url != config_.sessions_url) data_provider_ = state::open_store(config_.data_url, options);
    blobs_ = state::open_blob_store(config_.blobs_url);
  } catch (std::invalid_argument const& e) {
    throw std::runtime_error(e.what());
  }
  signer_ = std::make_unique<CookieSigner>(resolve_session_keys());
  hasher_ = std::make_unique<PasswordHasher>(config_.kdf, config_.kdf_threads);
  server_ = std::make_unique<io::HttpServer>(
      config_.server, [this](asio::any_io_executor executor, io::HttpServer const& server) {
        return std::make_shared<ThreadHandler>(*this, executor, server);
      });
  server_->start();
}

bool Service::drain() { return server_->drain(config_.drain_timeout); }

}  // namespace outboard::runtime
