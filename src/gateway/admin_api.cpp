#include "gateway/admin_api.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace outboard::gateway {
namespace {

namespace asio = boost::asio;
using http::Status;
using verb = http::bhttp::verb;

class AdminHandler final : public io::RequestHandler {
 public:
  AdminHandler(BackendPool& pool, GatewayMetrics& metrics, core::Clock const& clock,
               std::shared_ptr<AdminAuth const> auth)
      : pool_(pool), metrics_(metrics), clock_(clock), auth_(std::move(auth)) {}

  asio::awaitable<http::Response> handle(http::Request request, io::BodyStream*, io::ConnectionInfo) override {
    if (auto refusal = auth_->check(request)) {
      auto res = http::json_error(refusal->status, refusal->error, refusal->detail);
      if (refusal->status == Status::unauthorized) res.set(http::bhttp::field::www_authenticate, "Bearer");
      audit(request, res);
      co_return res;
    }
    auto res = answer(request);
    if (admin_changes_state(request.method())) audit(request, res);
    co_return res;
  }

 private:
  // One line per change and per refused request: who may have moved traffic, and when. The
  // body is logged (backend addresses and weights are not secrets); headers are not, since the
  // Authorization header is.
  void audit(http::Request const& request, http::Response const& res) const {
    nlohmann::json line{{"audit", "admin"},
                        {"ts_ms", clock_.now_ms()},
                        {"method", std::string(request.method_string())},
                        {"target", std::string(request.target())},
                        {"status", res.result_int()},
                        {"body", request.body().substr(0, 512)},
                        {"request_id", std::string(request["X-Request-Id"])}};
    spdlog::info("{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  http::Response answer(http::Request const& request) {
    std::string_view target = request.target();
    std::string path(target.substr(0, target.find('?')));
    auto method = request.method();
    if (path == "/healthz") return http::json_response(Status::ok, {{"status", "ok"}});
    if (path == "/metrics" && method == verb::get) {
      http::Response res{Status::ok, 11};
      res.set(http::bhttp::field::content_type, "text/plain; version=0.0.4");
      res.body() = metrics_.render(pool_, clock_.now_ms());
      res.prepare_payload();
      return res;
    }
    if (path == "/backends") {
      if (method == verb::get) return list();
      if (method == verb::post) return add(request);
      return not_allowed("GET, POST");
    }
    std::string const prefix = "/backends/";
    if (path.starts_with(prefix)) {
      std::string rest = path.substr(prefix.size());
      std::string action;
      if (auto slash = rest.find('/'); slash != std::string::npos) {
        action = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
      }
      auto backend = pool_.find(rest);
      if (!backend) return http::json_error(Status::not_found, "not_found", "no backend '" + rest + "'");
      if (action.empty() && method == verb::delete_) {
        pool_.remove(rest);
        return http::json_response(Status::ok, {{"removed", rest}});
      }
      if (action.empty() && method == verb::put) return set_weight(request, *backend);
      if (action.empty() && method == verb::get) return http::json_response(Status::ok, describe(*backend));
      if ((action == "drain" || action == "undrain") && method == verb::post) {
        backend->set_draining(action == "drain");
        return http::json_response(Status::ok, describe(*backend));
      }
      if (action.empty()) return not_allowed("GET, PUT, DELETE");
      return http::json_error(Status::not_found, "not_found", "no admin route " + path);
    }
    return http::json_error(Status::not_found, "not_found", "no admin route " + path);
  }

  static http::Response not_allowed(std::string const& allow) {
    auto res = http::json_error(Status::method_not_allowed, "method_not_allowed", "allowed: " + allow);
    res.set(http::bhttp::field::allow, allow);
    return res;
  }

  nlohmann::json describe(Backend const& b) const {
    auto now = clock_.now_ms();
    return {{"id", b.id()},
            {"state", b.state_name(now)},
            {"weight", b.weight()},
            {"in_flight", b.in_flight.load()},
            {"requests", b.requests.load()},
            {"failures", b.failures.load()},
            {"ejections", b.ejections.load()}};
  }

  http::Response list() const {
    nlohmann::json out = nlohmann::json::array();
    for (auto const& b : pool_.snapshot()->backends) out.push_back(describe(*b));
    return http::json_response(Status::ok, {{"backends", out}});
  }

  static std::optional<nlohmann::json> body_of(http::Request const& request) {
    auto body = nlohmann::json::parse(request.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) return std::nullopt;
    return body;
  }

  static std::optional<std::uint32_t> weight_of(nlohmann::json const& body, std::uint32_t fallback) {
    auto it = body.find("weight");
    if (it == body.end()) return fallback;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 1000) return std::nullopt;
    return static_cast<std::uint32_t>(it->get<std::int64_t>());
  }

  http::Response add(http::Request const& request) {
    auto body = body_of(request);
    if (!body) return http::json_error(Status::bad_request, "invalid", "the body must be a JSON object");
    auto address_it = body->find("address");
    if (address_it == body->end() || !address_it->is_string()) {
      return http::json_error(Status::bad_request, "invalid", "field 'address' (host:port) is required");
    }
    auto address = parse_backend_address(address_it->get<std::string>());
    if (!address) return http::json_error(Status::bad_request, "invalid", "'address' must be host:port");
    auto weight = weight_of(*body, 1);
    if (!weight) return http::json_error(Status::bad_request, "invalid", "'weight' must be an integer 0..1000");
    if (!pool_.add(*address, *weight)) {
      return http::json_error(Status::conflict, "exists", "backend " + address->id() + " exists already");
    }
    return http::json_response(Status::created, describe(*pool_.find(address->id())));
  }

  http::Response set_weight(http::Request const& request, Backend& backend) {
    auto body = body_of(request);
    if (!body) return http::json_error(Status::bad_request, "invalid", "the body must be a JSON object");
    auto weight = weight_of(*body, backend.weight());
    if (!weight) return http::json_error(Status::bad_request, "invalid", "'weight' must be an integer 0..1000");
    backend.set_weight(*weight);
    return http::json_response(Status::ok, describe(backend));
  }

  BackendPool& pool_;
  GatewayMetrics& metrics_;
  core::Clock const& clock_;
  std::shared_ptr<AdminAuth const> auth_;
};

}  // namespace

io::HandlerFactory make_admin_handler(BackendPool& pool, GatewayMetrics& metrics, core::Clock const& clock,
                                      AdminAuth auth) {
  auto shared = std::make_shared<AdminAuth const>(std::move(auth));
  return [&pool, &metrics, &clock, shared](asio::any_io_executor, io::HttpServer const&) {
    return std::make_shared<AdminHandler>(pool, metrics, clock, shared);
  };
}

}  // namespace outboard::gateway
