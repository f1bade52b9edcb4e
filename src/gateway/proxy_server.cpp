#include "gateway/proxy_server.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/random.hpp"
#include "gateway/forwarding.hpp"
#include "http/cookies.hpp"
#include "io/listener.hpp"

namespace outboard::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// One upstream connection with its read buffer (bytes past a response stay with the connection).
struct Upstream {
  explicit Upstream(asio::any_io_executor ex) : stream(ex) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string backend;
};

// A pooled connection the backend closed while it sat idle reads as EOF (or has stray bytes):
// either way it must not carry the next request.
bool still_usable(Upstream& up) {
  char probe;
  ssize_t n = ::recv(up.stream.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && up.buffer.size() == 0;
}

bhttp::response<bhttp::string_body> gateway_error(http::Status status, std::string_view code, std::string_view why) {
  auto res = http::json_error(status, code, why);
  res.set("X-Outboard-Gateway", "1");
  res.keep_alive(false);
  return res;
}

}  // namespace

struct ProxyServer::Worker {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  bool draining = false;
  std::unordered_set<tcp::socket*> idle_clients;

  // This thread's view of truth, refreshed when the pool's version moves.
  std::uint64_t version = UINT64_MAX;
  std::shared_ptr<Membership const> members;
  std::vector<Candidate> candidates;
  std::vector<bool> last_available;
  std::unique_ptr<Balancer> balancer;
  // Keyed by the Backend object (stable while it is a member; a backend that stays through a
  // reload keeps its object), so the hot path hashes a pointer, not a string.
  std::unordered_map<Backend const*, std::uint32_t> outstanding;
  std::unordered_map<Backend const*, std::vector<std::unique_ptr<Upstream>>> idle_upstreams;
  int active_requests = 0;
  int active_retries = 0;

  // Ids for requests that arrive without an X-Request-Id. They must be unique, not secret: a
  // generator per thread, seeded once from the system's CSPRNG, instead of RAND_bytes for every
  // request (which the profile showed on the hot path).
  std::mt19937_64 request_ids{seed_from_system()};
  std::string next_request_id() {
    std::uint64_t high = request_ids();
    std::uint64_t low = request_ids();
    return fmt::format("{:016x}{:08x}", high, static_cast<std::uint32_t>(low));
  }
  static std::uint64_t seed_from_system() {
    std::uint64_t seed = 0;
    auto bytes = core::random_bytes(sizeof seed);
    std::memcpy(&seed, bytes.data(), sizeof seed);
    return seed;
  }
};

// A client connection's life, as static coroutines on its worker's thread.
struct ClientSession {
  using Worker = ProxyServer::Worker;

  // Rebuilds the candidate list from the snapshot and the backends' live state.
  static void refresh(ProxyServer& server, Worker& w) {
    std::int64_t now = server.clock_.now_ms();
    if (server.pool_.version() != w.version) {
      w.members = server.pool_.snapshot();
      w.version = w.members->version;
      w.last_available.clear();
      w.candidates.clear();
      for (auto const& b : w.members->backends) w.candidates.push_back(Candidate{b->id(), 1, 0, true});
      // Pooled connections to backends no longer members are closed now.
      std::erase_if(w.idle_upstreams, [&](auto const& entry) {
        return std::none_of(w.members->backends.begin(), w.members->backends.end(),
                            [&](auto const& b) { return b.get() == entry.first; });
      });
    }
    auto const& backends = w.members->backends;
    bool changed = w.last_available.size() != backends.size();
    w.last_available.resize(backends.size());
    for (std::size_t i = 0; i < backends.size(); ++i) {
      auto const& b = *backends[i];
      Candidate& c = w.candidates[i];
      c.weight = b.effective_weight(now, server.config_.slow_start);
      auto it = w.outstanding.find(&b);
      c.outstanding = it == w.outstanding.end() ? 0 : it->second;
      c.available = b.available(now);
      if (w.last_available[i] != c.available) changed = true;
      w.last_available[i] = c.available;
    }
    if (changed) w.balancer->update(w.candidates);
  }

  static asio::awaitable<bool> wait_for_request(Worker& w, tcp::socket& socket, core::Millis idle) {
    using namespace asio::experimental::awaitable_operators;
    if (w.draining) co_return false;
    w.idle_clients.insert(&socket);
    asio::steady_timer timer(w.io, idle);
    auto result = co_await (socket.async_wait(tcp::socket::wait_read, use_nothrow) || timer.async_wait(use_nothrow));
    w.idle_clients.erase(&socket);
    if (result.index() != 0) co_return false;
    auto [ec] = std::get<0>(result);
    co_return !ec && !w.draining;
  }

  static asio::awaitable<std::unique_ptr<Upstream>> connect_upstream(ProxyServer& server, Worker& w,
                                                                     Backend const& backend, bool& reused) {
    reused = false;
    auto& idle = w.idle_upstreams[&backend];
    while (!idle.empty()) {
      auto up = std::move(idle.back());
      idle.pop_back();
      if (still_usable(*up)) {
        reused = true;
        server.metrics_.upstream_reuses.fetch_add(1, std::memory_order_relaxed);
        co_return up;
      }
    }
    auto up = std::make_unique<Upstream>(w.io.get_executor());
    up->backend = backend.id();
    boost::system::error_code ec;
    auto address = asio::ip::make_address(backend.address().host, ec);
    tcp::endpoint endpoint;
    if (ec) {
      tcp::resolver resolver(w.io);
      auto [rec, results] = co_await resolver.async_resolve(backend.address().host,
                                                             std::to_string(backend.address().port), use_nothrow);
      if (rec || results.empty()) co_return nullptr;
      endpoint = *results.begin();
    } else {
      endpoint = tcp::endpoint(address, backend.address().port);
    }
    up->stream.expires_after(server.config_.connect_timeout);
    auto [cec] = co_await up->stream.async_connect(endpoint, use_nothrow);
    if (cec) co_return nullptr;
    up->stream.socket().set_option(tcp::no_delay(true));
    server.metrics_.upstream_connects.fetch_add(1, std::memory_order_relaxed);
    co_return up;
  }

  template <bool isRequest>
  static asio::awaitable<beast::error_code> write_header_alone(
      beast::tcp_stream& out, bhttp::serializer<isRequest, bhttp::buffer_body>& serializer,
      bhttp::parser<isRequest, bhttp::buffer_body>& parser, core::Millis idle) {
    parser.get().body().data = nullptr;
    parser.get().body().more = !parser.is_done();
    out.expires_after(idle);
    auto [hec, hn] = co_await bhttp::async_write_header(out, serializer, use_nothrow);
    co_return hec;
  }

  // Copies a message body from `in` to `out` piece by piece (Beast's relay pattern): the body is
  // never held whole. Each piece is passed on as soon as it arrives (read_some, not read: a read
  // would wait for 16 KiB or the end, and hold back a stream of server-sent events or a long
  // poll). The header goes out with the first piece when that piece has already arrived (a small
  // response usually comes in one segment with its header): one send instead of two. When no
  // body byte is here yet, the header goes out alone at once, so a stream's client sees it
  // without waiting for the first event. Returns the first error, if any.
  template <bool isRequest>
  static asio::awaitable<beast::error_code> relay(beast::tcp_stream& out, beast::tcp_stream& in,
                                                  beast::flat_buffer& in_buffer,
                                                  bhttp::parser<isRequest, bhttp::buffer_body>& parser,
                                                  core::Millis idle, std::uint64_t* body_bytes = nullptr,
                                                  std::string_view prefix = {}) {
    std::array<char, 16 * 1024> chunk;  // not zero-filled: only bytes just read are ever sent from it
    bhttp::serializer<isRequest, bhttp::buffer_body> serializer{parser.get()};
    bool header_sent = false;
    if (!prefix.empty() || (!parser.is_done() && in_buffer.size() == 0)) {
      auto hec = co_await write_header_alone(out, serializer, parser, idle);
      header_sent = true;
      if (hec) co_return hec;
    }
    if (!prefix.empty()) {
      // Body bytes read before the relay began (held for a retry that did not happen).
      parser.get().body().data = const_cast<char*>(prefix.data());
      parser.get().body().size = prefix.size();
      parser.get().body().more = true;
      out.expires_after(idle);
      auto [pec, pn] = co_await bhttp::async_write(out, serializer, use_nothrow);
      if (pec == bhttp::error::need_buffer) pec = {};
      if (pec) co_return pec;
    }
    while (!serializer.is_done()) {
      if (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        in.expires_after(idle);
        auto [rec, rn] = co_await bhttp::async_read_some(in, in_buffer, parser, use_nothrow);
        if (rec == bhttp::error::need_buffer) rec = {};
        if (rec) co_return rec;
        parser.get().body().size = chunk.size() - parser.get().body().size;
        parser.get().body().data = chunk.data();
        if (body_bytes) *body_bytes += parser.get().body().size;
        parser.get().body().more = !parser.is_done();
        if (parser.get().body().size == 0) {
          // Only framing was read (a chunk header, the last chunk): no data to pass on. An empty
          // buffer must not reach a chunked serializer, which would write it as "0\r\n\r\n", the
          // end of the body, and then end the body again.
          parser.get().body().data = nullptr;
          if (!parser.is_done()) {
            if (!header_sent) {
              auto hec = co_await write_header_alone(out, serializer, parser, idle);
              header_sent = true;
              if (hec) co_return hec;
            }
            continue;
          }
        }
      } else {
        parser.get().body().data = nullptr;
        parser.get().body().size = 0;
        parser.get().body().more = false;
      }
      out.expires_after(idle);
      auto [wec, wn] = co_await bhttp::async_write(out, serializer, use_nothrow);
      header_sent = true;
      if (wec == bhttp::error::need_buffer) wec = {};
      if (wec) co_return wec;
    }
    co_return beast::error_code{};
  }

  // An answer the gateway gives itself (a refused request, no backend, a backend that failed)
  // gets its access-log line too: these are the ones an operator most needs to see. `request` is
  // null when the header could not be read.
  static void log_own_answer(ProxyServer& server, beast::tcp_stream& client,
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

  static asio::awaitable<void> send_error(ProxyServer& server, beast::tcp_stream& client,
                                          bhttp::response<bhttp::string_body> res,
                                          RequestHeader const* request = nullptr) {
    server.metrics_.rejected_requests.fetch_add(1, std::memory_order_relaxed);
    if (server.access_log_) log_own_answer(server, client, res, request);
    client.expires_after(std::chrono::seconds(5));
    co_await bhttp::async_write(client, res, use_nothrow);
  }

  static std::string hash_key_of(ProxyServer& server, RequestHeader const& header, std::string const& client_ip) {
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

  // Decrements the per-thread outstanding count and the backend's in-flight count on any exit.
  struct InFlight {
    Worker& w;
    Backend& backend;
    InFlight(Worker& worker, Backend& b) : w(worker), backend(b) {
      ++w.outstanding[&backend];
      backend.in_flight.fetch_add(1, std::memory_order_relaxed);
      backend.requests.fetch_add(1, std::memory_order_relaxed);
    }
    ~InFlight() {
      --w.outstanding[&backend];
      backend.in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
  };

  // Proxies one request whose header is in `parser`. Returns whether the client connection may
  // carry another request.
  static asio::awaitable<bool> proxy_request(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                             beast::flat_buffer& client_buffer,
                                             bhttp::request_parser<bhttp::buffer_body>& parser,
                                             std::string const& client_ip) {
    auto const& config = server.config_;
    auto start = std::chrono::steady_clock::now();
    auto& request = parser.get();
    bool client_keep_alive = request.keep_alive();
    bool head = request.method() == bhttp::verb::head;
    bool safe = retry_safe(request.base());

    std::string sticky;
    if (config.policy == Policy::cookie_sticky) {
      if (auto v = http::find_cookie(request[bhttp::field::cookie], config.sticky_cookie)) sticky = std::string(*v);
    }
    std::string key = config.policy == Policy::consistent_hash ? hash_key_of(server, request.base(), client_ip) : "";

    // A request id is made only when the client sent none.
    ForwardInfo info{client_ip, request["X-Request-Id"].empty() ? w.next_request_id() : "", false};
    auto content_length = parser.content_length();
    bool chunked = parser.chunked();
    prepare_upstream_request(request.base(), info);

    // The first retry_buffer_bytes of a body are read before any backend is chosen. A body that
    // ends within them is held whole: an attempt that fails can go elsewhere, and a malformed
    // chunk or an oversized body is answered here, never reaching a backend. A longer body is
    // sent on from the held prefix and streamed: one attempt only.
    std::string held;
    if (!parser.is_done()) {
      if (request[bhttp::field::expect] == "100-continue") {
        // We want the body now, so we answer the interim response ourselves.
        bhttp::response<bhttp::empty_body> go_on{http::Status::continue_, 11};
        auto [cec, cn] = co_await bhttp::async_write(client, go_on, use_nothrow);
        if (cec) co_return false;
      }
      request.erase(bhttp::field::expect);
      std::size_t cap = config.retry_buffer_bytes;
      if (content_length) cap = static_cast<std::size_t>(std::min<std::uint64_t>(cap, *content_length));
      held.resize(cap);
      std::size_t filled = 0;
      while (!parser.is_done() && filled < held.size()) {
        parser.get().body().data = held.data() + filled;
        parser.get().body().size = held.size() - filled;
        client.expires_after(config.idle_timeout);
        auto [ec, n] = co_await bhttp::async_read(client, client_buffer, parser, use_nothrow);
        if (ec == bhttp::error::need_buffer) ec = {};
        filled = held.size() - parser.get().body().size;
        if (ec) {
          if (auto res = read_error(ec)) co_await send_error(server, client, std::move(*res), &request.base());
          co_return false;
        }
      }
      held.resize(filled);
    }
    bool body_pending = !parser.is_done();  // a streamed body: one attempt only


    std::vector<std::size_t> tried;
    ++w.active_requests;
    struct Active {
      Worker& w;
      ~Active() { --w.active_requests; }
    } active{w};

    for (int attempt = 0; attempt < std::max(1, config.max_attempts); ++attempt) {
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
      InFlight in_flight(w, backend);
      bool is_retry = attempt > 0;
      if (is_retry) ++w.active_retries;
      struct RetryCount {
        Worker& w;
        bool on;
        ~RetryCount() {
          if (on) --w.active_retries;
        }
      } retry_count{w, is_retry};

      bool reused = false;
      auto up = co_await connect_upstream(server, w, backend, reused);
      std::int64_t now = server.clock_.now_ms();
      if (!up) {
        // Nothing was sent: any request may go elsewhere.
        backend.record_failure(config.outlier_failures, config.outlier_base_ejection, config.outlier_max_ejection, now);
        continue;
      }

      // Send the request.
      beast::error_code send_ec;
      if (!body_pending) {
        // The parsed message goes out as it is (no copy of its header); a held body is its buffer.
        request.body().data = held.empty() ? nullptr : held.data();
        request.body().size = held.size();
        request.body().more = false;
        if (content_length) request.content_length(held.size());
        request.keep_alive(true);
        up->stream.expires_after(config.idle_timeout);
        auto [wec, wn] = co_await bhttp::async_write(up->stream, request, use_nothrow);
        send_ec = wec;
      } else {
        if (content_length) request.content_length(*content_length);
        else if (chunked) request.chunked(true);
        request.keep_alive(true);
        send_ec = co_await relay<true>(up->stream, client, client_buffer, parser, config.idle_timeout, nullptr, held);
      }
      if (send_ec) {
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

      // The response header: the first byte must come within first_byte_timeout.
      bhttp::response_parser<bhttp::buffer_body> response_parser;
      response_parser.body_limit(boost::none);
      response_parser.header_limit(64 * 1024);
      if (head) response_parser.skip(true);
      up->stream.expires_after(std::min(config.first_byte_timeout, config.total_timeout));
      auto [rec, rn] = co_await bhttp::async_read_header(up->stream, up->buffer, response_parser, use_nothrow);
      now = server.clock_.now_ms();
      if (rec) {
        backend.record_failure(config.outlier_failures, config.outlier_base_ejection, config.outlier_max_ejection, now);
        bool timed_out = rec == beast::error::timeout;
        if (safe && !body_pending) continue;  // nothing reached the client yet: try elsewhere
        {
          auto answer = timed_out ? gateway_error(http::Status::gateway_timeout, "gateway_timeout",
                                                      "the backend did not answer in time")
                                      : gateway_error(http::Status::bad_gateway, "bad_gateway",
                                                      "the backend closed the connection without answering");  // named: see core/offload.hpp on g++ 12
          co_await send_error(server, client, std::move(answer), &request.base());
        }
        co_return false;
      }
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
      bool keep = client_keep_alive && !w.draining && !body_pending_after(parser);
      response_parser.get().keep_alive(keep);
      if (config.policy == Policy::cookie_sticky && sticky != backend.id()) {
        // The backend the cookie named is gone (or there was none): point the client at the new one.
        http::CookieAttributes attrs;
        response_parser.get().insert(bhttp::field::set_cookie, http::set_cookie(config.sticky_cookie, backend.id(), attrs));
      }
      std::chrono::duration<double> first_byte = std::chrono::steady_clock::now() - start;
      std::uint64_t bytes = 0;
      auto relay_ec = co_await relay<false>(client, up->stream, up->buffer, response_parser, config.idle_timeout, &bytes);
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      server.metrics_.observe(status, took.count());
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
                            {"complete", !relay_ec}};
        server.access_log_->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      if (!relay_ec && response_parser.is_done() && upstream_keep_alive) {
        auto& idle = w.idle_upstreams[&backend];
        if (idle.size() < config.max_idle_upstream_per_backend) idle.push_back(std::move(up));
      }
      co_return !relay_ec && keep;
    }

    // Every attempt failed before a response, or nothing could be picked.
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    server.metrics_.observe(503, took.count());
    {
      auto answer = tried.empty() ? gateway_error(http::Status::service_unavailable, "no_backend",
                                                      "no backend is available")
                                      : gateway_error(http::Status::bad_gateway, "bad_gateway",
                                                      "no backend could answer this request");  // named: see core/offload.hpp on g++ 12
      co_await send_error(server, client, std::move(answer), &request.base());
    }
    co_return false;
  }

  static bool body_pending_after(bhttp::request_parser<bhttp::buffer_body> const& parser) { return !parser.is_done(); }

  // Forwards the handshake, then copies bytes both ways until either side closes.
  static asio::awaitable<void> proxy_websocket(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                               beast::flat_buffer& client_buffer,
                                               bhttp::request_parser<bhttp::buffer_body>& parser,
                                               std::string const& client_ip) {
    auto const& config = server.config_;
    refresh(server, w);
    std::string key = config.policy == Policy::consistent_hash ? hash_key_of(server, parser.get().base(), client_ip) : "";
    std::string sticky;
    if (auto v = http::find_cookie(parser.get()[bhttp::field::cookie], config.sticky_cookie)) sticky = std::string(*v);
    RequestKey rk{key, sticky};
    auto pick = w.balancer->pick(w.candidates, rk, {});
    if (!pick) {
      {
        auto answer = gateway_error(http::Status::service_unavailable, "no_backend", "no backend is available");  // named: see core/offload.hpp on g++ 12
        co_await send_error(server, client, std::move(answer), &parser.get().base());
      }
      co_return;
    }
    auto backend = w.members->backends[*pick];
    InFlight in_flight(w, *backend);
    bool reused = false;
    auto up = co_await connect_upstream(server, w, *backend, reused);
    if (!up) {
      {
        auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway", "the backend is unreachable");  // named: see core/offload.hpp on g++ 12
        co_await send_error(server, client, std::move(answer), &parser.get().base());
      }
      co_return;
    }
    ForwardInfo info{client_ip, parser.get()["X-Request-Id"].empty() ? w.next_request_id() : "", true};
    prepare_upstream_request(parser.get().base(), info);
    bhttp::request<bhttp::empty_body> handshake{parser.get().base()};
    up->stream.expires_after(config.first_byte_timeout);
    auto [wec, wn] = co_await bhttp::async_write(up->stream, handshake, use_nothrow);
    if (wec) co_return;
    bhttp::response_parser<bhttp::buffer_body> rp;
    rp.skip(true);
    auto [rec, rn] = co_await bhttp::async_read_header(up->stream, up->buffer, rp, use_nothrow);
    if (rec) {
      {
        auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway", "no handshake answer");  // named: see core/offload.hpp on g++ 12
        co_await send_error(server, client, std::move(answer), &parser.get().base());
      }
      co_return;
    }
    bhttp::response<bhttp::empty_body> answer{rp.get().base()};
    prepare_client_response(answer.base());
    client.expires_after(config.idle_timeout);
    auto [aec, an] = co_await bhttp::async_write(client, answer, use_nothrow);
    if (aec || answer.result() != http::Status::switching_protocols) co_return;
    server.metrics_.websocket_sessions.fetch_add(1, std::memory_order_relaxed);

    // Spliced: whatever either side sent past the handshake goes first, then raw copying.
    client.expires_never();
    up->stream.expires_never();
    auto& cs = client.socket();
    auto& us = up->stream.socket();
    if (client_buffer.size() > 0) {
      co_await asio::async_write(us, client_buffer.data(), use_nothrow);
      client_buffer.consume(client_buffer.size());
    }
    if (up->buffer.size() > 0) {
      co_await asio::async_write(cs, up->buffer.data(), use_nothrow);
      up->buffer.consume(up->buffer.size());
    }
    using namespace asio::experimental::awaitable_operators;
    co_await (pump(cs, us) || pump(us, cs));
  }

  static asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to) {
    std::array<char, 16 * 1024> data{};
    for (;;) {
      auto [rec, n] = co_await from.async_read_some(asio::buffer(data), use_nothrow);
      if (rec) break;
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(data.data(), n), use_nothrow);
      if (wec) break;
    }
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }

  static std::optional<bhttp::response<bhttp::string_body>> read_error(beast::error_code ec) {
    using he = bhttp::error;
    if (ec == he::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
      return std::nullopt;
    }
    if (ec == beast::error::timeout) {
      return gateway_error(http::Status::request_timeout, "request_timeout", "the request header did not arrive in time");
    }
    if (ec == he::body_limit) return gateway_error(http::Status::payload_too_large, "payload_too_large", "the body is over the size limit");
    if (ec == he::header_limit) {
      return gateway_error(http::Status::request_header_fields_too_large, "header_too_large", "the headers are over the size limit");
    }
    if (ec.category() == bhttp::make_error_code(he::bad_target).category()) {
      return gateway_error(http::Status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
    }
    return std::nullopt;
  }

  static asio::awaitable<void> serve(ProxyServer& server, Worker& w, tcp::socket socket) {
    auto const& config = server.config_;
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    std::string client_ip = ec ? "" : peer.address().to_string();
    beast::tcp_stream client(std::move(socket));
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      // A new connection must start its request within header_read_ms (a connection that sends
      // nothing is a slowloris too); between keep-alive requests it may idle for idle_ms.
      core::Millis wait = first ? config.header_read_timeout : config.idle_timeout;
      first = false;
      if (buffer.size() == 0 && !co_await wait_for_request(w, client.socket(), wait)) break;
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
      // No body limit while the header is read: a Content-Length over the limit is refused below,
      // where the header is whole and can be logged. Chunked bodies get the limit after that.
      parser.body_limit(boost::none);
      client.expires_after(config.header_read_timeout);  // slowloris: the whole header in time
      auto [hec, hn] = co_await bhttp::async_read_header(client, buffer, parser, use_nothrow);
      if (hec) {
        if (auto res = read_error(hec)) co_await send_error(server, client, std::move(*res));
        break;
      }
      parser.body_limit(config.max_body_bytes);
      // Ambiguous framing is answered here and never reaches a backend.
      if (auto why = check_request_framing(parser.get().base())) {
        {
          auto answer = gateway_error(http::Status::bad_request, "bad_request", *why);  // named: see core/offload.hpp on g++ 12
          co_await send_error(server, client, std::move(answer), &parser.get().base());
        }
        break;
      }
      std::size_t count = 0;
      for (auto it = parser.get().begin(); it != parser.get().end(); ++it) ++count;
      if (count > config.max_headers) {
        {
          auto answer = gateway_error(http::Status::request_header_fields_too_large, "too_many_headers",
                                          "more than " + std::to_string(config.max_headers) + " header fields");  // named: see core/offload.hpp on g++ 12
          co_await send_error(server, client, std::move(answer), &parser.get().base());
        }
        break;
      }
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
      if (!co_await proxy_request(server, w, client, buffer, parser, client_ip)) break;
    }
    beast::error_code ignored;
    client.socket().shutdown(tcp::socket::shutdown_send, ignored);
    client.close();
  }

  static asio::awaitable<void> accept_loop(ProxyServer& server, Worker& w) {
    for (;;) {
      auto [ec, socket] = co_await w.acceptor.async_accept(use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !w.acceptor.is_open()) co_return;
        asio::steady_timer pause(w.io, std::chrono::milliseconds(50));
        co_await pause.async_wait(use_nothrow);
        continue;
      }
      socket.set_option(tcp::no_delay(true));
      ++server.open_connections_;
      server.metrics_.open_client_connections.fetch_add(1, std::memory_order_relaxed);
      asio::co_spawn(w.io, serve(server, w, std::move(socket)), [&server](std::exception_ptr e) {
        --server.open_connections_;
        server.metrics_.open_client_connections.fetch_sub(1, std::memory_order_relaxed);
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (std::exception const& ex) {
            spdlog::error("client connection ended by exception: {}", ex.what());
          }
        }
      });
    }
  }
};

ProxyServer::ProxyServer(GatewayConfig const& config, BackendPool& pool, GatewayMetrics& metrics,
                         core::Clock const& clock)
    : config_(config), pool_(pool), metrics_(metrics), clock_(clock) {
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
    port = io::listen_reuseport(w->acceptor, config_.listen_address, port);
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
      worker->io.run();
    });
  }
}

bool ProxyServer::drain(core::Millis deadline) {
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->io, [worker] {
      worker->draining = true;
      boost::system::error_code ignored;
      worker->acceptor.close(ignored);
      for (auto* socket : worker->idle_clients) socket->cancel(ignored);
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
