#include "gateway/health_checker.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace outboard::gateway {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using core::use_nothrow;

namespace {

// One check: connect, GET path, 2xx within the timeout (whole exchange) = healthy.
asio::awaitable<bool> check_once(BackendAddress address, std::string path, core::Millis timeout) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  tcp::resolver resolver(executor);
  auto [rec, results] = co_await resolver.async_resolve(address.host, std::to_string(address.port), use_nothrow);
  if (rec) co_return false;
  auto [cec, ep] = co_await stream.async_connect(results, use_nothrow);
  if (cec) co_return false;
  beast::http::request<beast::http::empty_body> req{beast::http::verb::get, path, 11};
  req.set(beast::http::field::host, address.host);
  req.set(beast::http::field::user_agent, "outboard-gateway-health");
  req.keep_alive(false);
  auto [wec, wn] = co_await beast::http::async_write(stream, req, use_nothrow);
  if (wec) co_return false;
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  auto [hec, hn] = co_await beast::http::async_read(stream, buffer, res, use_nothrow);
  if (hec) co_return false;
  co_return res.result_int() >= 200 && res.result_int() < 300;
}

void log_failure(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    spdlog::error("health check ended by exception: {}", ex.what());
  }
}

// Free coroutines with by-value parameters: no lambda captures live across a suspension (g++ 12).
asio::awaitable<void> check_backend(std::shared_ptr<Backend> backend, GatewayConfig const& config,
                                    core::Clock const& clock) {
  bool ok = co_await check_once(backend->address(), config.health_path, config.health_timeout);
  if (backend->record_check(ok, config.health_rise, config.health_fall, clock.now_ms())) {
    spdlog::info("backend {} is {}", backend->id(), backend->healthy() ? "up" : "down");
  }
}

asio::awaitable<void> check_forever(asio::io_context& io, BackendPool& pool, GatewayConfig const& config,
                                    core::Clock const& clock) {
  asio::steady_timer timer(io);
  for (;;) {
    auto members = pool.snapshot();
    // Each backend checked on its own, so one slow backend does not delay the others.
    for (auto const& backend : members->backends) asio::co_spawn(io, check_backend(backend, config, clock), log_failure);
    timer.expires_after(config.health_interval);
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (ec) co_return;
  }
}

}  // namespace

HealthChecker::HealthChecker(GatewayConfig const& config, BackendPool& pool, core::Clock const& clock)
    : config_(config), pool_(pool), clock_(clock), io_(std::make_unique<asio::io_context>(1)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start() {
  if (!config_.health_enabled) return;
  asio::co_spawn(*io_, check_forever(*io_, pool_, config_, clock_), log_failure);
  thread_ = std::thread([this] { io_->run(); });
}

void HealthChecker::stop() {
  io_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace outboard::gateway
