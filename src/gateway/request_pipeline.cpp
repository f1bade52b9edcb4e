// One proxied request, from its parsed head to the last response byte (proxy_session.hpp).
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "gateway/body_pace.hpp"
#include "gateway/proxy_session.hpp"
#include "http/cookies.hpp"
#include "io/read_watchdog.hpp"

namespace outboard::gateway {

std::string ClientSession::hash_key_of(ProxyServer& server, RequestHeader const& header, std::string const& client_ip) {
  auto const& source = server.config_.hash_key;
  switch (source.kind) {
    case HashKeySource::Kind::header: return std::string(header[source.name]);
    case HashKeySource::Kind::cookie: {
      auto v = http::find_cookie(header[bhttp::field::cookie], source.name);
      return v ? std::string(*v) : std::string();
    }
    case HashKeySource::Kind::path: {
      std::string_view t = header.target();
      return std::string(t.substr(0, t.find('?')));
    }
    case HashKeySource::Kind::client: return client_ip;
  }
  return {};
}
// A connection to `backend`: the most recently pooled one (reused = true), or, when there is
// none or `fresh` asks for a new one, a new connection. Null when connecting failed.
asio::awaitable<std::unique_ptr<Upstream>> ClientSession::connect_upstream(ProxyServer& server, Worker& w,
                                                                           Backend const& backend, bool& reused,
                                                                           bool fresh) {
  reused = false;
  if (!fresh) {
    if (auto up = w.upstreams.take(backend)) {
      reused = true;
      server.metrics_.upstream_reuses.fetch_add(1, std::memory_order_relaxed);
      co_return up;
    }
  }
  co_return co_await open_upstream(w.io.get_executor(), backend, server.config_.connect_timeout, server.metrics_,
                                    w.meters);
}

// Reads the first retry_buffer_bytes of a request body (all of a body that ends within them)
// into `held`, under the body pace and the total deadline. Answers the client itself on a bad
// or late body; false then (the connection ends).
asio::awaitable<bool> ClientSession::read_held_body(ProxyServer& server, beast::tcp_stream& client,
                                            beast::flat_buffer& client_buffer,
                                            bhttp::request_parser<bhttp::buffer_body>& parser, io::ChunkGuard& guard,
                                            RelayLimits const& limits, std::string& held) {
  auto const& config = server.config_;
  auto& request = parser.get();
  if (request[bhttp::field::expect] == "100-continue") {
    // We want the body now, so we answer the interim response ourselves (RFC 9110 section
    // 10.1.1); the backend never sees the Expect, so a 100 from it is not for the client.
    bhttp::response<bhttp::empty_body> go_on{http::Status::continue_, 11};
    client.expires_at(limits.write_until());
    auto [cec, cn] = co_await bhttp::async_write(client, go_on, use_nothrow);
    if (cec) co_return false;
  }
  request.erase(bhttp::field::expect);
  std::size_t cap = config.retry_buffer_bytes;
  if (auto length = parser.content_length()) cap = static_cast<std::size_t>(std::min<std::uint64_t>(cap, *length));
  // The buffer grows with what arrives (from 4 kB, doubling), so a connection that announces a
  // large body and sends it slowly holds only what it sent, not the whole retry buffer.
  std::size_t filled = 0;
  while (!parser.is_done() && filled < cap) {
    if (filled == held.size()) held.resize(std::min(cap, std::max<std::size_t>(4096, 2 * held.size())));
    parser.get().body().data = held.data() + filled;
    parser.get().body().size = held.size() - filled;
    io::StrictRead got;
    {
      io::ReadWatchdog watchdog(client, limits.read_until());
      got = co_await io::async_read_body_some_strict(client, client_buffer, parser, guard);
      if (watchdog.fired()) got = io::StrictRead{beast::error::timeout, std::nullopt};
    }
    beast::error_code ec = error_of(got);
    if (ec == bhttp::error::need_buffer) ec = {};
    filled = held.size() - parser.get().body().size;
    limits.pace->received = filled;
    if (ec) {
      if (got.rejection) {
        co_await send_rejection(server, client, *got.rejection, &request.base());
      } else if (ec == beast::error::timeout) {
        co_await answer_slow_body(server, client, request.base());
      } else if (auto res = read_error(ec)) {
        co_await send_error(server, client, std::move(*res), &request.base());
      }
      co_return false;
    }
  }
  held.resize(filled);
  co_return true;
}
// A request body that fell behind its pace (or the total deadline): 408, and the connection
// closes (what was sent of the body is unread; the backend connection, if any, is dropped).
asio::awaitable<void> ClientSession::answer_slow_body(ProxyServer& server, beast::tcp_stream& client,
                                              RequestHeader const& request) {
  server.metrics_.body_timeouts.fetch_add(1, std::memory_order_relaxed);
  auto answer = gateway_error(http::Status::request_timeout, "body_timeout",
                              "the request body did not arrive in time");  // named: see core/offload.hpp on g++ 12
  co_await send_error(server, client, std::move(answer), &request);
}
// Waits for a slot on `backend` (limits.max_in_flight_per_backend); answers 503 itself when the
// queue is full or the wait timed out, and returns false then.
asio::awaitable<bool> ClientSession::acquire_slot(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                          Backend& backend, TimePoint deadline, RequestHeader const& request) {
  auto const& config = server.config_;
  auto queued_at = std::chrono::steady_clock::now();
  auto outcome = co_await w.queue.acquire(backend, config.max_in_flight_per_backend, config.queue_size,
                                          std::min(queued_at + config.queue_timeout, deadline));
  if (outcome == BackendQueue::Outcome::granted) co_return true;
  if (outcome == BackendQueue::Outcome::granted_after_wait || outcome == BackendQueue::Outcome::timed_out) {
    std::chrono::nanoseconds waited = std::chrono::steady_clock::now() - queued_at;
    server.metrics_.queued_requests.fetch_add(1, std::memory_order_relaxed);
    server.metrics_.queue_wait_ns.fetch_add(static_cast<std::uint64_t>(waited.count()), std::memory_order_relaxed);
  }
  if (outcome == BackendQueue::Outcome::granted_after_wait) co_return true;
  bool full = outcome == BackendQueue::Outcome::queue_full;
  (full ? server.metrics_.queue_full : server.metrics_.queue_timeouts).fetch_add(1, std::memory_order_relaxed);
  {
    auto answer = full ? overloaded("queue_full", "the backend is at its limit and its queue is full",
                                    config.retry_after_seconds)
                       : overloaded("queue_timeout", "the backend stayed at its limit for the whole queue timeout",
                                    config.retry_after_seconds);  // named: see core/offload.hpp on g++ 12
    co_await send_error(server, client, std::move(answer), &request);
  }
  co_return false;
}
// Sends the request whose header is in `parser` on `up`: a whole body (held) as the message's
// own buffer, in one write with the header; a streamed body through the relay, after the held
// prefix. May run twice for one request (a reused connection found closed), so it sets the
// framing headers each time.
asio::awaitable<RelayResult> ClientSession::send_request(Upstream& up, beast::tcp_stream& client,
                                                 beast::flat_buffer& client_buffer,
                                                 bhttp::request_parser<bhttp::buffer_body>& parser,
                                                 io::ChunkGuard& guard, RelayLimits const& limits,
                                                 std::string& held, bool body_pending,
                                                 boost::optional<std::uint64_t> content_length, bool chunked,
                                                 std::span<char> chunk) {
  auto& request = parser.get();
  RelayResult sent;
  if (!body_pending) {
    // The parsed message goes out as it is (no copy of its header); a held body is its buffer.
    request.body().data = held.empty() ? nullptr : held.data();
    request.body().size = held.size();
    request.body().more = false;
    if (content_length) request.content_length(held.size());
    request.keep_alive(true);
    if (request.chunked()) {  // Beast's serializer encodes the held body
      up.stream.expires_at(limits.write_until());
      auto [wec, wn] = co_await bhttp::async_write(up.stream, request, use_nothrow);
      sent.ec = wec;
    } else {  // the header as text and the held body, in one write tried at once
      std::string const head = http::header_text(request.base());
      std::string_view unsent = head;
      sent.ec = co_await send_with_header(up.stream, unsent, held, limits.write_until());
    }
  } else {
    if (content_length) request.content_length(*content_length);
    else if (chunked) request.chunked(true);
    request.keep_alive(true);
    sent = co_await relay<true>(up.stream, client, client_buffer, parser, guard, limits, chunk, held);
  }
  sent.closed_unanswered = sent.ec && !sent.reading && closed_by_peer(sent.ec);
  co_return sent;
}
// Reads the backend's response header into `slot`, past interim responses: a 100 Continue is
// consumed (the gateway answered the client's Expect itself), a 103 Early Hints or any other
// 1xx but 101 is passed on to the client (not to an HTTP/1.0 client, RFC 9110 section 15.2),
// and the final header is what the caller relays. All of it within `first_byte_until`.
// Returns the error and whether it was the client's side (an interim response could not be
// written to it).
asio::awaitable<RelayResult> ClientSession::read_final_header(
    beast::tcp_stream& client, Upstream& up, std::optional<bhttp::response_parser<bhttp::buffer_body>>& slot,
    RequestHeader const& request, TimePoint first_byte_until, RelayLimits const& limits) {
  bool first = true;  // no interim response came before
  for (;;) {
    slot.emplace();
    slot->body_limit(boost::none);
    if (request.method() == bhttp::verb::head) slot->skip(true);
    up.stream.expires_at(first_byte_until);
    bool nothing_yet = up.buffer.size() == 0 && first;
    first = false;
    auto got = co_await io::async_read_head_strict(up.stream, up.buffer, *slot, kBackendHeadLimits);
    if (auto rec = error_of(got)) {
      bool unanswered = nothing_yet && up.buffer.size() == 0 && closed_by_peer(rec);
      co_return RelayResult{rec, true, std::move(got.rejection), unanswered};
    }
    unsigned status = slot->get().result_int();
    if (status >= 200 || status == 101) co_return RelayResult{};
    if (status == 100 || request.version() < 11) continue;
    bhttp::response<bhttp::empty_body> interim{slot->get().base()};
    prepare_client_response(interim.base());
    client.expires_at(limits.write_until());
    auto [wec, wn] = co_await bhttp::async_write(client, interim, use_nothrow);
    if (wec) co_return RelayResult{wec, false, std::nullopt};
  }
}
// Proxies one request whose header is in `parser`. Returns whether the client connection may
// carry another request.
asio::awaitable<bool> ClientSession::proxy_request(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                           beast::flat_buffer& client_buffer,
                                           bhttp::request_parser<bhttp::buffer_body>& parser,
                                           io::ChunkGuard& guard, std::string const& client_ip, std::span<char> chunk) {
  auto const& config = server.config_;
  auto start = std::chrono::steady_clock::now();
  // timeouts.total_ms: from here (the header is read) to the last response byte.
  TimePoint deadline = config.total_timeout.count() > 0 ? start + config.total_timeout : TimePoint::max();
  BodyPace pace{start, config.body_read_timeout, config.body_min_rate, 0};
  RelayLimits limits{config.idle_timeout, deadline, &pace, nullptr};
  auto& request = parser.get();
  bool client_keep_alive = request.keep_alive();
  bool safe = retry_safe(request.base());

  // The cookie holds an opaque token: one that is not ours for a current member (forged, stale,
  // a plain address) maps to "" and the request is balanced as if it had no cookie.
  std::string sticky;
  if (config.policy == Policy::cookie_sticky) {
    refresh(server, w);  // the token map follows the membership
    if (auto v = http::find_cookie(request[bhttp::field::cookie], config.sticky_cookie)) {
      sticky = w.sticky_tokens.backend_for(*v);
    }
  }
  std::string key = uses_hash_key(config.policy) ? hash_key_of(server, request.base(), client_ip) : "";

  // A request id is made only when the client sent none.
  ForwardInfo info{client_ip, request["X-Request-Id"].empty() ? w.next_request_id() : "", false,
                   config.trusted_proxies.contains(client_ip)};
  auto content_length = parser.content_length();
  bool chunked = parser.chunked();
  prepare_upstream_request(request.base(), info);

  // The first retry_buffer_bytes of a body are read before any backend is chosen. A body that
  // ends within them is held whole: an attempt that fails can go elsewhere, and a malformed
  // chunk or an oversized body is answered here, never reaching a backend. A longer body is
  // sent on from the held prefix and streamed: one attempt only.
  std::string held;
  if (!parser.is_done() && !co_await read_held_body(server, client, client_buffer, parser, guard, limits, held)) {
    co_return false;
  }
  bool body_pending = !parser.is_done();  // a streamed body: one attempt only

  std::vector<std::size_t> tried;
  ++w.active_requests;
  struct Active {
    Worker& w;
    ~Active() { --w.active_requests; }
  } active{w};

  for (int attempt = 0; attempt < std::max(1, config.max_attempts); ++attempt) {
    if (std::chrono::steady_clock::now() >= deadline) break;
    if (attempt > 0) {
      int budget = std::max(config.retry_budget_min, w.active_requests * config.retry_budget_percent / 100);
      if (w.active_retries >= budget) {
        server.metrics_.retries_denied_by_budget.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      server.metrics_.retries.fetch_add(1, std::memory_order_relaxed);
    }
    refresh(server, w);
    RequestKey rk{key, sticky};
    auto pick = w.balancer->pick(w.candidates, rk, tried);
    if (!pick) break;
    tried.push_back(*pick);
    auto backend_ptr = w.members->backends[*pick];
    Backend& backend = *backend_ptr;
    if (!co_await acquire_slot(server, w, client, backend, deadline, request.base())) co_return false;
    InFlight in_flight(w, backend, true);
    bool is_retry = attempt > 0;
    if (is_retry) ++w.active_retries;
    struct RetryCount {
      Worker& w;
      bool on;
      ~RetryCount() {
        if (on) --w.active_retries;
      }
    } retry_count{w, is_retry};

    // The request goes out and the response header comes back. A reused connection the backend
    // had closed (its keep-alive timeout raced us) shows as EOF or a reset before any response
    // byte: a request safe to send twice goes again on a new connection to the same backend,
    // counted neither as the backend's failure nor as an attempt; any other is answered 502
    // and never sent again (the backend may have acted on it before closing).
    std::unique_ptr<Upstream> up;
    RelayResult sent;
    RelayResult header;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> response_slot;
    bool fresh = false;
    for (;;) {
      bool reused = false;
      up = co_await connect_upstream(server, w, backend, reused, fresh);
      if (!up) break;
      sent = co_await send_request(*up, client, client_buffer, parser, guard, limits, held, body_pending,
                                   content_length, chunked, chunk);
      header = RelayResult{};
      if (!sent.ec) {
        header = co_await read_final_header(client, *up, response_slot, request.base(),
                                            expiry(config.first_byte_timeout, deadline), limits);
      }
      bool closed_unanswered = sent.ec ? (!sent.reading && sent.closed_unanswered) : header.closed_unanswered;
      if (!reused || !closed_unanswered) break;
      if (!safe || body_pending) {
        server.metrics_.stale_upstream_refused.fetch_add(1, std::memory_order_relaxed);
        {
          auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway",
                                      "the backend closed a reused keep-alive connection without answering; the "
                                      "request is not sent twice (not idempotent: no Idempotency-Key)");  // named: see core/offload.hpp on g++ 12
          co_await send_error(server, client, std::move(answer), &request.base());
        }
        co_return false;
      }
      server.metrics_.stale_upstream_resent.fetch_add(1, std::memory_order_relaxed);
      fresh = true;
    }
    std::int64_t now = server.clock_.now_ms();
    if (!up) {
      // Nothing was sent: any request may go elsewhere.
      backend.record_failure(config.outlier_failures, config.outlier_base_ejection, config.outlier_max_ejection, now);
      continue;
    }
    if (sent.ec && sent.reading) {
      // The client's body failed, not the backend: a late body is answered 408, a malformed
      // chunk 400; a client that went away gets nothing. The half-sent upstream connection is
      // dropped with `up`.
      if (sent.rejection) co_await send_rejection(server, client, *sent.rejection, &request.base());
      else if (sent.ec == beast::error::timeout) co_await answer_slow_body(server, client, request.base());
      co_return false;
    }
    if (sent.ec) {
      backend.record_failure(config.outlier_failures, config.outlier_base_ejection, config.outlier_max_ejection, now);
      if (body_pending || !safe) {
        {
          auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway", "the backend failed while receiving the request");  // named: see core/offload.hpp on g++ 12
          co_await send_error(server, client, std::move(answer), &request.base());
        }
        co_return false;
      }
      continue;
    }

    // The response header: the first byte had to come within first_byte_timeout.
    if (header.ec && !header.reading) co_return false;  // the client went away during an interim response
    if (header.ec) {
      backend.record_failure(config.outlier_failures, config.outlier_base_ejection, config.outlier_max_ejection, now);
      bool timed_out = header.ec == beast::error::timeout;
      // A malformed response is a backend's bug, not a passing failure: answered at once (below).
      if (safe && !body_pending && !header.rejection) continue;  // nothing reached the client yet: try elsewhere
      if (timed_out && std::chrono::steady_clock::now() >= deadline) {
        server.metrics_.total_timeouts.fetch_add(1, std::memory_order_relaxed);
      }
      if (header.rejection) {
        // A malformed response (http/strict.hpp): 502 with the rule, never passed on.
        co_await send_rejection(server, client, *header.rejection, &request.base());
        co_return false;
      }
      {
        auto answer = timed_out ? gateway_error(http::Status::gateway_timeout, "gateway_timeout",
                                                    "the backend did not answer in time")
                                    : gateway_error(http::Status::bad_gateway, "bad_gateway",
                                                    "the backend closed the connection without answering");  // named: see core/offload.hpp on g++ 12
        co_await send_error(server, client, std::move(answer), &request.base());
      }
      co_return false;
    }
    auto& response_parser = *response_slot;
    unsigned status = response_parser.get().result_int();
    if (status >= 500) {
      backend.record_failure(config.outlier_failures, config.outlier_base_ejection, config.outlier_max_ejection, now);
    } else {
      backend.record_success();
    }

    bool upstream_keep_alive = response_parser.get().keep_alive();
    auto resp_length = response_parser.content_length();
    bool resp_chunked = response_parser.chunked();
    prepare_client_response(response_parser.get().base());
    if (resp_length) response_parser.get().content_length(*resp_length);
    else if (resp_chunked) response_parser.get().chunked(true);
    bool keep = client_keep_alive && !w.idle.draining() && parser.is_done();  // a body left unread ends the connection
    response_parser.get().keep_alive(keep);
    if (config.policy == Policy::cookie_sticky && sticky != backend.id()) {
      // The cookie named no current backend, or one that cannot take the request: point the
      // client at the one that did, by its token (never its address).
      http::CookieAttributes attrs;
      response_parser.get().insert(bhttp::field::set_cookie,
                                   http::set_cookie(config.sticky_cookie, w.sticky_tokens.token_for(backend.id()), attrs));
    }
    std::chrono::duration<double> first_byte = std::chrono::steady_clock::now() - start;
    std::uint64_t bytes = 0;
    RelayLimits response_limits{config.idle_timeout, deadline, nullptr, &bytes};
    io::ChunkGuard response_guard(response_parser.chunked());
    auto relayed =
        co_await relay<false>(client, up->stream, up->buffer, response_parser, response_guard, response_limits, chunk);
    bool cut_by_deadline = relayed.ec == beast::error::timeout && std::chrono::steady_clock::now() >= deadline;
    if (cut_by_deadline) server.metrics_.total_timeouts.fetch_add(1, std::memory_order_relaxed);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    server.metrics_.observe(request.method_string(), status, took.count());
    backend.responses[std::min<std::size_t>(status / 100, 5)].fetch_add(1, std::memory_order_relaxed);
    if (server.access_log_) {
      nlohmann::json line{{"ts_ms", server.clock_.now_ms()},
                          {"client", client_ip},
                          {"method", std::string(request.method_string())},
                          {"target", std::string(request.target())},
                          {"request_id", std::string(request["X-Request-Id"])},
                          {"backend", backend.id()},
                          {"status", status},
                          {"bytes", bytes},
                          {"attempts", attempt + 1},
                          {"first_byte_ms", first_byte.count() * 1000.0},
                          {"duration_ms", took.count() * 1000.0},
                          {"complete", !relayed.ec}};
      if (cut_by_deadline) line["error"] = "total_timeout";
      server.access_log_->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    up->meter.touch();  // its bytes: on the worker's next meter flush
    // Pooled only when nothing past the response arrived: stray bytes would be read as the
    // next request's answer.
    if (!relayed.ec && response_parser.is_done() && upstream_keep_alive && up->buffer.size() == 0) {
      w.upstreams.put(backend, std::move(up), config.max_idle_upstream_per_backend);
    }
    co_return !relayed.ec && keep;
  }

  // Every attempt failed before a response, or nothing could be picked, or the total deadline
  // passed between attempts.
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  bool late = std::chrono::steady_clock::now() >= deadline;
  if (late) server.metrics_.total_timeouts.fetch_add(1, std::memory_order_relaxed);
  server.metrics_.observe(request.method_string(), late ? 504 : 503, took.count());
  {
    auto answer = late ? gateway_error(http::Status::gateway_timeout, "total_timeout",
                                       "the request ran out of its total time (timeouts.total_ms)")
                  : tried.empty() ? gateway_error(http::Status::service_unavailable, "no_backend",
                                                    "no backend is available")
                                    : gateway_error(http::Status::bad_gateway, "bad_gateway",
                                                    "no backend could answer this request");  // named: see core/offload.hpp on g++ 12
    co_await send_error(server, client, std::move(answer), &request.base());
  }
  co_return false;
}
}  // namespace outboard::gateway
