#include "gateway/proxy_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "core/random.hpp"
#include "gateway/panic.hpp"
#include "gateway/proxy_session.hpp"
#include "gateway/traffic_meter.hpp"
#include "io/listener.hpp"
#include "io/read_watchdog.hpp"

namespace outboard::gateway {

bhttp::response<bhttp::string_body> gateway_error(http::Status status, std::string_view code, std::string_view why) {
  auto res = http::json_error(status, code, why);
  res.set("X-Outboard-Gateway", "1");
  res.keep_alive(false);
  return res;
}

bhttp::response<bhttp::string_body> overloaded(std::string_view rule, std::string_view why, int retry_after_s) {
  auto res = gateway_error(http::Status::service_unavailable, rule, why);
  res.set(bhttp::field::retry_after, std::to_string(retry_after_s));
  return res;
}

// Rebuilds the candidate list from the snapshot and the backends' live state.
void ClientSession::refresh(ProxyServer& server, Worker& w) {
  std::int64_t now = server.clock_.now_ms();
  if (server.pool_.version() != w.version) {
    w.members = server.pool_.snapshot();
    w.version = w.members->version;
    w.last_available.clear();
    w.candidates.clear();
    for (auto const& b : w.members->backends) w.candidates.push_back(Candidate{b->id(), 1, 0, true});
    w.upstreams.retain_only(w.members->backends);  // connections to former members close now
    w.queue.forget_empty();
    if (server.config_.policy == Policy::cookie_sticky) w.sticky_tokens.rebuild(server.sticky_signer_, w.members->backends);
  }
  auto const& backends = w.members->backends;
  std::size_t available = 0;
  std::size_t eligible = 0;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    auto const& b = *backends[i];
    Candidate& c = w.candidates[i];
    c.weight = b.effective_weight(now, server.config_.slow_start);
    auto it = w.outstanding.find(&b);
    c.outstanding = it == w.outstanding.end() ? 0 : it->second;
    c.available = b.available(now);
    available += c.available ? 1 : 0;
    eligible += b.draining() ? 0 : 1;
  }
  bool panic = in_panic(available, eligible, server.config_.panic_threshold_percent);
  if (panic) {
    for (std::size_t i = 0; i < backends.size(); ++i) w.candidates[i].available = !backends[i]->draining();
  }
  server.note_panic(panic, available, eligible);
  bool changed = w.last_available.size() != backends.size();
  w.last_available.resize(backends.size());
  for (std::size_t i = 0; i < backends.size(); ++i) {
    if (w.last_available[i] != w.candidates[i].available) changed = true;
    w.last_available[i] = w.candidates[i].available;
  }
  if (changed) w.balancer->update(w.candidates);
}
// An answer the gateway gives itself (a refused request, no backend, a backend that failed)
// gets its access-log line too: these are the ones an operator most needs to see. `request` is
// null when the header could not be read.
void ClientSession::log_own_answer(ProxyServer& server, beast::tcp_stream& client,
                           bhttp::response<bhttp::string_body> const& res, RequestHeader const* request) {
  boost::system::error_code ec;
  auto peer = client.socket().remote_endpoint(ec);
  auto body = nlohmann::json::parse(res.body(), nullptr, false);
  nlohmann::json line{{"ts_ms", server.clock_.now_ms()},
                      {"client", ec ? std::string() : peer.address().to_string()},
                      {"backend", nullptr},
                      {"status", res.result_int()},
                      {"error", body.is_object() ? body.value("error", "") : ""}};
  if (request) {
    line["method"] = std::string(request->method_string());
    line["target"] = std::string(request->target());
    line["request_id"] = std::string((*request)["X-Request-Id"]);
  }
  server.access_log_->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}
asio::awaitable<void> ClientSession::send_error(ProxyServer& server, beast::tcp_stream& client,
                                        bhttp::response<bhttp::string_body> res,
                                        RequestHeader const* request) {
  server.metrics_.rejected_requests.fetch_add(1, std::memory_order_relaxed);
  if (server.access_log_) log_own_answer(server, client, res, request);
  client.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(client, res, use_nothrow);
}
// A message the strict HTTP layer refused (http/strict.hpp): its status and rule id, logged.
asio::awaitable<void> ClientSession::send_rejection(ProxyServer& server, beast::tcp_stream& client,
                                            http::Rejection const& rejection, RequestHeader const* request) {
  auto answer = http::rejection_response(rejection);
  answer.set("X-Outboard-Gateway", "1");
  co_await send_error(server, client, std::move(answer), request);
}
http::HeadLimits ClientSession::head_limits(GatewayConfig const& config) {
  return http::HeadLimits{config.max_header_bytes, config.max_headers, config.max_target_bytes};
}
std::optional<bhttp::response<bhttp::string_body>> ClientSession::read_error(beast::error_code ec) {
  auto res = io::read_error_response(ec);
  if (res) res->set("X-Outboard-Gateway", "1");
  return res;
}

asio::awaitable<void> ClientSession::serve(ProxyServer& server, Worker& w, tcp::socket socket) {
  auto const& config = server.config_;
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  std::string client_ip = ec ? "" : peer.address().to_string();
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buffer;
  TrafficMeter meter;
  meter.attach(w.meters, client.socket().native_handle(), server.metrics_.client_received_bytes,
               server.metrics_.client_sent_bytes);
  // The connection's one deadline (the idle wait, then the head), re-aimed per request without
  // a timer call.
  io::ConnectionDeadline deadline(client.socket());
  // The relay's buffer for every request on this connection (request body, then response): in
  // this frame, made once per connection, not in each relay's (relay.hpp).
  std::array<char, 16 * 1024> relay_chunk;
  bool first = true;
  for (;;) {
    // A new connection must start its request within header_read_ms (a connection that sends
    // nothing is a slowloris too); between keep-alive requests it may idle for idle_ms.
    core::Millis wait = first ? config.header_read_timeout : config.idle_timeout;
    first = false;
    if (buffer.size() == 0 &&
        !co_await w.idle.wait_for_request(client.socket(), buffer, deadline, std::chrono::steady_clock::now() + wait)) {
      break;
    }
    bhttp::request_parser<bhttp::buffer_body> parser;
    // No body limit while the header is read: a Content-Length over the limit is refused below,
    // where the header is whole and can be logged. Chunked bodies get the limit after that.
    parser.body_limit(boost::none);
    // The head goes through the strict HTTP/1.1 layer (http/strict.hpp) before Beast parses
    // it: the gateway forwards nothing `outboard serve` would refuse. The whole head must come
    // within header_read_ms (slowloris); the connection's deadline, not the stream's own
    // timeout, so the 408 can still be written.
    client.expires_never();  // a write's expiry from the last request must not cut this read
    deadline.arm(std::chrono::steady_clock::now() + config.header_read_timeout);
    auto head = co_await io::async_read_head_strict(client, buffer, parser, head_limits(config));
    if (deadline.expired()) head = io::StrictRead{beast::error::timeout, std::nullopt};
    deadline.disarm();
    if (head.rejection) {
      co_await send_rejection(server, client, *head.rejection, parser.is_header_done() ? &parser.get().base() : nullptr);
      break;
    }
    if (head.ec) {
      if (auto res = read_error(head.ec)) co_await send_error(server, client, std::move(*res));
      break;
    }
    parser.body_limit(config.max_body_bytes);
    // Ambiguous framing was refused by the strict read above; check_request_framing would find
    // nothing more (http_differential_fuzz asserts it), so the hot path does not run it again.
    if (parser.content_length() && *parser.content_length() > config.max_body_bytes) {
      {
        auto answer = gateway_error(http::Status::payload_too_large, "payload_too_large",
                                                        "the body is over the size limit");  // named: see core/offload.hpp on g++ 12
        co_await send_error(server, client, std::move(answer), &parser.get().base());
      }
      break;
    }
    if (is_websocket_upgrade(parser.get().base())) {
      co_await proxy_websocket(server, w, client, buffer, parser, client_ip);
      break;
    }
    io::ChunkGuard guard(parser.chunked());
    bool again = co_await proxy_request(server, w, client, buffer, parser, guard, client_ip, relay_chunk);
    meter.touch();  // its bytes: on the worker's next meter flush
    if (!again) break;
  }
  io::close_gently(client.socket());
  meter.account_attached();
  client.close();
}
// A connection over a cap: 503 with Retry-After and a JSON reason, then closed. What the client
// sent meanwhile is read and dropped for a moment after our half-close, so closing does not
// reset the connection and destroy the answer before the client read it.
asio::awaitable<void> ClientSession::refuse_connection(ProxyServer& server, tcp::socket socket, ConnectionLimits::Verdict why) {
  beast::tcp_stream client(std::move(socket));
  bool per_client = why == ConnectionLimits::Verdict::over_per_client;
  (per_client ? server.metrics_.refused_connections_per_client_cap : server.metrics_.refused_connections_total_cap)
      .fetch_add(1, std::memory_order_relaxed);
  {
    auto answer = per_client ? overloaded("max_connections_per_client", "too many connections from this client address",
                                          server.config_.retry_after_seconds)
                             : overloaded("max_connections", "the gateway is at its connection limit",
                                          server.config_.retry_after_seconds);  // named: see core/offload.hpp on g++ 12
    co_await send_error(server, client, std::move(answer));
  }
  beast::error_code ignored;
  client.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> sink;
  client.expires_after(std::chrono::seconds(1));
  for (;;) {
    auto [ec, n] = co_await client.async_read_some(asio::buffer(sink), use_nothrow);
    if (ec) break;
  }
  TrafficMeter meter;
  meter.account(client.socket().native_handle(), server.metrics_.client_received_bytes,
                server.metrics_.client_sent_bytes);
  client.close();
}
void ClientSession::log_exception(std::exception_ptr e, char const* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    spdlog::error("{} ended by exception: {}", what, ex.what());
  }
}
asio::awaitable<void> ClientSession::flush_meters(Worker& w) {
  asio::steady_timer timer(w.io);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (ec) co_return;
    w.meters.flush();
    close_departed_tunnels(*w.server, w);
  }
}

void ClientSession::close_departed_tunnels(ProxyServer& server, Worker& w) {
  if (w.tunnels.live() == 0) return;  // no pool lock taken while no WebSocket is open
  auto members = server.pool_.snapshot();
  w.tunnels.close_to_departed([&members](Backend const& backend) {
    if (backend.draining()) return true;
    return std::none_of(members->backends.begin(), members->backends.end(),
                        [&backend](auto const& member) { return member.get() == &backend; });
  });
}

asio::awaitable<void> ClientSession::accept_loop(ProxyServer& server, Worker& w) {
  auto on_accept = [&server, &w](tcp::socket socket) { start_connection(server, w, std::move(socket)); };
  co_await io::accept_loop(w.acceptor, on_accept);
}

void ClientSession::start_connection(ProxyServer& server, Worker& w, tcp::socket socket) {
  boost::system::error_code pec;
  auto peer = socket.remote_endpoint(pec);
  std::string client_ip = pec ? "" : peer.address().to_string();
  auto verdict = server.connection_limits_.admit(client_ip);
  if (verdict != ConnectionLimits::Verdict::admitted) {
    asio::co_spawn(w.io, refuse_connection(server, std::move(socket), verdict),
                   [](std::exception_ptr e) { log_exception(e, "refused connection"); });
    return;
  }
  ++server.open_connections_;
  server.metrics_.open_client_connections.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(w.io, serve(server, w, std::move(socket)), [&server, client_ip](std::exception_ptr e) {
    --server.open_connections_;
    server.metrics_.open_client_connections.fetch_sub(1, std::memory_order_relaxed);
    server.connection_limits_.release(client_ip);
    log_exception(e, "client connection");
  });
}

ProxyServer::ProxyServer(GatewayConfig const& config, BackendPool& pool, GatewayMetrics& metrics,
                         core::Clock const& clock)
    : config_(config),
      pool_(pool),
      metrics_(metrics),
      clock_(clock),
      connection_limits_(config.max_connections, config.max_connections_per_client),
      sticky_signer_(config.sticky_key) {
  if (config_.access_log) {
    access_log_ = spdlog::stdout_logger_mt("gateway-access");
    access_log_->set_pattern("%v");
  }
}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::start() {
  std::uint16_t port = config_.listen_port;
  int threads = std::max(1, config_.threads);
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->server = this;
    port = io::listen_reuseport(w->acceptor, config_.listen_address, port, config_.reuse_port);
    w->balancer = make_balancer(config_.policy, 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(i + 1));
    workers_.push_back(std::move(w));
  }
  port_ = port;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([this, worker] {
      asio::co_spawn(worker->io, ClientSession::accept_loop(*this, *worker), [](std::exception_ptr e) {
        if (e) spdlog::error("gateway accept loop ended by exception");
      });
      asio::co_spawn(worker->io, ClientSession::flush_meters(*worker), [](std::exception_ptr e) {
        if (e) spdlog::error("gateway meter flush ended by exception");
      });
      worker->io.run();
    });
  }
}

void ProxyServer::note_panic(bool panic, std::size_t available, std::size_t eligible) {
  // A load first: the exchange (a write to a shared line) only when the mode changes.
  if (metrics_.panic.load(std::memory_order_relaxed) == panic) return;
  if (metrics_.panic.exchange(panic, std::memory_order_relaxed) == panic) return;  // another thread saw it first
  if (panic) {
    metrics_.panic_entered.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("panic mode: only {} of {} backends (draining ones aside) are available, under "
                 "health.panic_threshold_percent {}: balancing over all {} until enough recover",
                 available, eligible, config_.panic_threshold_percent, eligible);
  } else {
    spdlog::info("panic mode ended: {} of {} backends available", available, eligible);
  }
}

void ProxyServer::slot_freed(Worker& from, Backend& backend) {
  if (config_.max_in_flight_per_backend <= 0) return;
  from.queue.wake(backend);
  if (backend.queued.load(std::memory_order_relaxed) == 0) return;
  // Someone may queue on another thread: each thread's first waiter tries; the first to run takes
  // the slot, the others wait on. The shared_ptr keeps the backend alive until they ran, even if
  // it left the pool meanwhile.
  auto keep = backend.shared_from_this();
  for (auto& other : workers_) {
    Worker* worker = other.get();
    if (worker == &from) continue;
    asio::post(worker->io, [worker, keep] { worker->queue.wake(*keep); });
  }
}

bool ProxyServer::drain(core::Millis deadline) {
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->io, [worker] {
      boost::system::error_code ignored;
      worker->acceptor.close(ignored);
      worker->idle.drain();
      worker->tunnels.drain_all();  // WebSockets get close 1001, within their grace
    });
  }
  bool finished = io::wait_for_zero(open_connections_, deadline);
  stop();
  return finished;
}

void ProxyServer::stop() {
  for (auto& w : workers_) w->io.stop();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace outboard::gateway
