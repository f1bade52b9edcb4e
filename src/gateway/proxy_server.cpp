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
#include <boost/beast/core/buffers_to_string.hpp>
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
#include "gateway/backend_queue.hpp"
#include "gateway/body_pace.hpp"
#include "gateway/forwarding.hpp"
#include "gateway/panic.hpp"
#include "gateway/traffic_meter.hpp"
#include "gateway/websocket_tunnel.hpp"
#include "http/cookies.hpp"
#include "io/listener.hpp"
#include "io/strict_read.hpp"

namespace outboard::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
using TimePoint = std::chrono::steady_clock::time_point;

namespace {

// One upstream connection with its read buffer (bytes past a response stay with the connection).
// Its bytes are counted in `metrics` when a request on it ends (account()) and when it closes.
struct Upstream {
  Upstream(asio::any_io_executor ex, GatewayMetrics& m) : stream(ex), metrics(m) {}
  ~Upstream() { account(); }
  Upstream(Upstream const&) = delete;
  Upstream& operator=(Upstream const&) = delete;
  void account() {
    if (stream.socket().is_open()) {
      meter.account(stream.socket().native_handle(), metrics.backend_received_bytes, metrics.backend_sent_bytes);
    }
  }
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string backend;
  GatewayMetrics& metrics;
  TrafficMeter meter;
};

// Whether `ec` says the peer closed or reset the connection (a read's EOF, a write's EPIPE).
// On a reused pooled connection before any response byte, that is a connection the backend
// closed while it sat idle (its keep-alive timeout raced our request), not the backend failing.
// No probe (MSG_PEEK) before reuse: it costs a syscall per request and still loses the race
// when the close comes after it; the request is sent again instead, when that is safe.
bool closed_by_peer(beast::error_code ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

bhttp::response<bhttp::string_body> gateway_error(http::Status status, std::string_view code, std::string_view why) {
  auto res = http::json_error(status, code, why);
  res.set("X-Outboard-Gateway", "1");
  res.keep_alive(false);
  return res;
}

// A 503 from a limit (connections, backend queue): the client may come back after a while.
// `rule` is the JSON "error" and so the access log's, naming the limit that refused.
bhttp::response<bhttp::string_body> overloaded(std::string_view rule, std::string_view why, int retry_after_s) {
  auto res = gateway_error(http::Status::service_unavailable, rule, why);
  res.set(bhttp::field::retry_after, std::to_string(retry_after_s));
  return res;
}

// The earliest of now + idle and the request's own deadlines: the expiry for one network wait.
TimePoint expiry(core::Millis idle, TimePoint deadline, TimePoint other = TimePoint::max()) {
  return std::min({std::chrono::steady_clock::now() + idle, deadline, other});
}

// A deadline for one read from a client, kept without the tcp_stream's own timeout: on expiry
// that closes the socket, and the 408 owed to the client could no longer be written. This timer
// cancels the read instead (operation_aborted), leaving the socket open; fired() then says the
// deadline, not the client, ended it. Scope it tightly around one co_await: the timer's handler
// touches the stream only while `done` is false, i.e. while the read is still pending.
class ReadWatchdog {
 public:
  ReadWatchdog(beast::tcp_stream& stream, TimePoint until)
      : state_(std::make_shared<State>()), timer_(stream.get_executor(), until) {
    stream.expires_never();
    timer_.async_wait([state = state_, &stream](beast::error_code ec) {
      if (ec || state->done) return;
      state->fired = true;
      beast::error_code ignored;
      stream.socket().cancel(ignored);
    });
  }
  ~ReadWatchdog() {
    state_->done = true;
    timer_.cancel();
  }
  ReadWatchdog(ReadWatchdog const&) = delete;
  ReadWatchdog& operator=(ReadWatchdog const&) = delete;
  bool fired() const { return state_->fired; }

 private:
  struct State {
    bool done = false;
    bool fired = false;
  };
  std::shared_ptr<State> state_;
  asio::steady_timer timer_;
};

// What a backend's response head may be: generous (backends are ours), but bounded.
constexpr http::HeadLimits kBackendHeadLimits{64 * 1024, 256, 8 << 10};

// How a relay ended: the first error, and whether it came from the side being read (for a request
// body: the client) rather than the side written to.
struct RelayResult {
  beast::error_code ec;
  bool reading = false;
  std::optional<http::Rejection> rejection;  // the strict layer refused what was read (ec is set too)
  // The peer closed (or reset) the connection before sending a single byte of the response:
  // read_final_header sets it; a write that met the peer's close sets it too.
  bool closed_unanswered = false;
};

// A strict read's outcome as the relay's: a rejection also sets ec, so every caller that only
// asks "did it fail?" still stops.
beast::error_code error_of(io::StrictRead const& got) {
  return got.rejection ? beast::error_code(bhttp::error::bad_chunk) : got.ec;
}

}  // namespace

struct ProxyServer::Worker {
  // Set when the worker is being destroyed. Declared before `io`, so it outlives it: io's
  // destructor destroys the coroutines still suspended, and their InFlight guards must then
  // leave alone the members declared after io, which are already gone.
  bool closing = false;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  bool draining = false;
  std::unordered_set<tcp::socket*> idle_clients;
  TunnelRegistry tunnels;  // this thread's live WebSocket tunnels, for drain

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
  BackendQueue queue{io.get_executor()};
  StickyTokenMap sticky_tokens;  // cookie_sticky: token -> backend id for `members`
  ProxyServer* server = nullptr;
  int active_requests = 0;
  int active_retries = 0;

  // Ids for requests that arrive without an X-Request-Id. They must be unique, not secret: a
  // generator per thread, seeded once from the system's CSPRNG, instead of RAND_bytes for every
  // request (which the profile showed on the hot path).
  std::mt19937_64 request_ids{seed_from_system()};
  ~Worker() { closing = true; }
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

  // A connection to `backend`: the most recently pooled one (reused = true), or, when there is
  // none or `fresh` asks for a new one, a new connection. Null when connecting failed.
  static asio::awaitable<std::unique_ptr<Upstream>> connect_upstream(ProxyServer& server, Worker& w,
                                                                     Backend const& backend, bool& reused,
                                                                     bool fresh = false) {
    reused = false;
    auto& idle = w.idle_upstreams[&backend];
    if (!fresh && !idle.empty()) {
      auto up = std::move(idle.back());
      idle.pop_back();
      reused = true;
      server.metrics_.upstream_reuses.fetch_add(1, std::memory_order_relaxed);
      co_return up;
    }
    auto up = std::make_unique<Upstream>(w.io.get_executor(), server.metrics_);
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
      bhttp::parser<isRequest, bhttp::buffer_body>& parser, TimePoint until) {
    parser.get().body().data = nullptr;
    parser.get().body().more = !parser.is_done();
    out.expires_at(until);
    auto [hec, hn] = co_await bhttp::async_write_header(out, serializer, use_nothrow);
    co_return hec;
  }

  // The clocks a relay runs under: `idle` for each wait, never past `deadline` (the request's
  // total deadline); reads also never past the body pace's deadline when there is one (a request
  // body). `body_bytes`, when given, counts the body bytes passed on.
  struct RelayLimits {
    core::Millis idle;
    TimePoint deadline = TimePoint::max();
    BodyPace* pace = nullptr;
    std::uint64_t* body_bytes = nullptr;

    TimePoint read_until() const { return expiry(idle, deadline, pace ? pace->deadline() : TimePoint::max()); }
    TimePoint write_until() const { return expiry(idle, deadline); }
  };

  // Copies a message body from `in` to `out` piece by piece (Beast's relay pattern): the body is
  // never held whole. Each piece is passed on as soon as it arrives (read_some, not read: a read
  // would wait for 16 KiB or the end, and hold back a stream of server-sent events or a long
  // poll). The header goes out with the first piece when that piece has already arrived (a small
  // response usually comes in one segment with its header): one send instead of two. When no
  // body byte is here yet, the header goes out alone at once, so a stream's client sees it
  // without waiting for the first event. Returns the first error, if any, and its side.
  template <bool isRequest>
  static asio::awaitable<RelayResult> relay(beast::tcp_stream& out, beast::tcp_stream& in,
                                            beast::flat_buffer& in_buffer,
                                            bhttp::parser<isRequest, bhttp::buffer_body>& parser,
                                            io::ChunkGuard& guard, RelayLimits limits, std::string_view prefix = {}) {
    std::array<char, 16 * 1024> chunk;  // not zero-filled: only bytes just read are ever sent from it
    bhttp::serializer<isRequest, bhttp::buffer_body> serializer{parser.get()};
    bool header_sent = false;
    if (!prefix.empty() || (!parser.is_done() && in_buffer.size() == 0)) {
      auto hec = co_await write_header_alone(out, serializer, parser, limits.write_until());
      header_sent = true;
      if (hec) co_return RelayResult{hec, false, std::nullopt};
    }
    if (!prefix.empty()) {
      // Body bytes read before the relay began (held for a retry that did not happen).
      parser.get().body().data = const_cast<char*>(prefix.data());
      parser.get().body().size = prefix.size();
      parser.get().body().more = true;
      out.expires_at(limits.write_until());
      auto [pec, pn] = co_await bhttp::async_write(out, serializer, use_nothrow);
      if (pec == bhttp::error::need_buffer) pec = {};
      if (pec) co_return RelayResult{pec, false, std::nullopt};
    }
    while (!serializer.is_done()) {
      if (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        // Through the strict layer: a chunked body's framing is checked before Beast reads it.
        io::StrictRead got;
        if constexpr (isRequest) {
          // From a client: a late body is owed a 408, so its socket must stay open.
          ReadWatchdog watchdog(in, limits.read_until());
          got = co_await io::async_read_body_some_strict(in, in_buffer, parser, guard);
          if (watchdog.fired()) got = io::StrictRead{beast::error::timeout, std::nullopt};
        } else {
          in.expires_at(limits.read_until());
          got = co_await io::async_read_body_some_strict(in, in_buffer, parser, guard);
        }
        beast::error_code rec = error_of(got);
        if (rec == bhttp::error::need_buffer) rec = {};
        if (rec) co_return RelayResult{rec, true, std::move(got.rejection)};
        parser.get().body().size = chunk.size() - parser.get().body().size;
        parser.get().body().data = chunk.data();
        if (limits.body_bytes) *limits.body_bytes += parser.get().body().size;
        if (limits.pace) limits.pace->received += parser.get().body().size;
        parser.get().body().more = !parser.is_done();
        if (parser.get().body().size == 0) {
          // Only framing was read (a chunk header, the last chunk): no data to pass on. An empty
          // buffer must not reach a chunked serializer, which would write it as "0\r\n\r\n", the
          // end of the body, and then end the body again.
          parser.get().body().data = nullptr;
          if (!parser.is_done()) {
            if (!header_sent) {
              auto hec = co_await write_header_alone(out, serializer, parser, limits.write_until());
              header_sent = true;
              if (hec) co_return RelayResult{hec, false, std::nullopt};
            }
            continue;
          }
        }
      } else {
        parser.get().body().data = nullptr;
        parser.get().body().size = 0;
        parser.get().body().more = false;
      }
      out.expires_at(limits.write_until());
      auto [wec, wn] = co_await bhttp::async_write(out, serializer, use_nothrow);
      header_sent = true;
      if (wec == bhttp::error::need_buffer) wec = {};
      if (wec) co_return RelayResult{wec, false, std::nullopt};
    }
    co_return RelayResult{};
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

  // A message the strict HTTP layer refused (http/strict.hpp): its status and rule id, logged.
  static asio::awaitable<void> send_rejection(ProxyServer& server, beast::tcp_stream& client,
                                              http::Rejection const& rejection, RequestHeader const* request = nullptr) {
    auto answer = http::rejection_response(rejection);
    answer.set("X-Outboard-Gateway", "1");
    co_await send_error(server, client, std::move(answer), request);
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

  // Holds one slot on a backend: the per-thread outstanding count and the backend's in-flight
  // count, both given back on any exit (which wakes a request queued for the slot). `slot_taken`:
  // BackendQueue::acquire already counted it in in_flight; otherwise it is counted here (a
  // WebSocket tunnel: counted against the limit, never queued).
  struct InFlight {
    Worker& w;
    Backend& backend;
    InFlight(Worker& worker, Backend& b, bool slot_taken = false) : w(worker), backend(b) {
      ++w.outstanding[&backend];
      if (!slot_taken) backend.try_enter(0);
      backend.requests.fetch_add(1, std::memory_order_relaxed);
    }
    ~InFlight() {
      backend.leave();  // the suspended coroutine's frame still holds the backend's shared_ptr
      if (w.closing) return;
      --w.outstanding[&backend];
      w.server->slot_freed(w, backend);
    }
  };

  // Reads the first retry_buffer_bytes of a request body (all of a body that ends within them)
  // into `held`, under the body pace and the total deadline. Answers the client itself on a bad
  // or late body; false then (the connection ends).
  static asio::awaitable<bool> read_held_body(ProxyServer& server, beast::tcp_stream& client,
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
        ReadWatchdog watchdog(client, limits.read_until());
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
  static asio::awaitable<void> answer_slow_body(ProxyServer& server, beast::tcp_stream& client,
                                                RequestHeader const& request) {
    server.metrics_.body_timeouts.fetch_add(1, std::memory_order_relaxed);
    auto answer = gateway_error(http::Status::request_timeout, "body_timeout",
                                "the request body did not arrive in time");  // named: see core/offload.hpp on g++ 12
    co_await send_error(server, client, std::move(answer), &request);
  }

  // Waits for a slot on `backend` (limits.max_in_flight_per_backend); answers 503 itself when the
  // queue is full or the wait timed out, and returns false then.
  static asio::awaitable<bool> acquire_slot(ProxyServer& server, Worker& w, beast::tcp_stream& client,
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
  static asio::awaitable<RelayResult> send_request(Upstream& up, beast::tcp_stream& client,
                                                   beast::flat_buffer& client_buffer,
                                                   bhttp::request_parser<bhttp::buffer_body>& parser,
                                                   io::ChunkGuard& guard, RelayLimits const& limits,
                                                   std::string& held, bool body_pending,
                                                   boost::optional<std::uint64_t> content_length, bool chunked) {
    auto& request = parser.get();
    RelayResult sent;
    if (!body_pending) {
      // The parsed message goes out as it is (no copy of its header); a held body is its buffer.
      request.body().data = held.empty() ? nullptr : held.data();
      request.body().size = held.size();
      request.body().more = false;
      if (content_length) request.content_length(held.size());
      request.keep_alive(true);
      up.stream.expires_at(limits.write_until());
      auto [wec, wn] = co_await bhttp::async_write(up.stream, request, use_nothrow);
      sent.ec = wec;
    } else {
      if (content_length) request.content_length(*content_length);
      else if (chunked) request.chunked(true);
      request.keep_alive(true);
      sent = co_await relay<true>(up.stream, client, client_buffer, parser, guard, limits, held);
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
  static asio::awaitable<RelayResult> read_final_header(
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
  static asio::awaitable<bool> proxy_request(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                             beast::flat_buffer& client_buffer,
                                             bhttp::request_parser<bhttp::buffer_body>& parser,
                                             io::ChunkGuard& guard, std::string const& client_ip) {
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
    std::string key = config.policy == Policy::consistent_hash ? hash_key_of(server, request.base(), client_ip) : "";

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
                                     content_length, chunked);
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
      bool keep = client_keep_alive && !w.draining && !body_pending_after(parser);
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
      auto relayed = co_await relay<false>(client, up->stream, up->buffer, response_parser, response_guard, response_limits);
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
      up->account();
      // Pooled only when nothing past the response arrived: stray bytes would be read as the
      // next request's answer.
      if (!relayed.ec && response_parser.is_done() && upstream_keep_alive && up->buffer.size() == 0) {
        auto& idle = w.idle_upstreams[&backend];
        if (idle.size() < config.max_idle_upstream_per_backend) idle.push_back(std::move(up));
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
    if (auto v = http::find_cookie(parser.get()[bhttp::field::cookie], config.sticky_cookie)) {
      sticky = w.sticky_tokens.backend_for(*v);  // an opaque token, as for any request
    }
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
    // A new connection, never a pooled one: a handshake is not sent twice, so it must not meet
    // a keep-alive connection the backend closed meanwhile.
    bool reused = false;
    auto up = co_await connect_upstream(server, w, *backend, reused, true);
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
    auto got = co_await io::async_read_head_strict(up->stream, up->buffer, rp, kBackendHeadLimits);
    if (got.rejection) {
      co_await send_rejection(server, client, *got.rejection, &parser.get().base());
      co_return;
    }
    if (got.ec) {
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

    // Spliced through the frame-following tunnel (websocket_tunnel.hpp). Bytes either side sent
    // with the handshake are the start of its first frames: they go through the tunnel too.
    client.expires_never();
    up->stream.expires_never();
    std::string from_client = beast::buffers_to_string(client_buffer.data());
    std::string from_upstream = beast::buffers_to_string(up->buffer.data());
    client_buffer.consume(client_buffer.size());
    up->buffer.consume(up->buffer.size());
    TunnelOptions options{config.websocket_idle_timeout, config.websocket_drain_grace};
    co_await splice_websocket(client.socket(), up->stream.socket(), std::move(from_client), std::move(from_upstream),
                              options, w.tunnels, server.metrics_.websocket);
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

  static http::HeadLimits head_limits(GatewayConfig const& config) {
    return http::HeadLimits{config.max_header_bytes, config.max_headers, config.max_target_bytes};
  }

  static asio::awaitable<void> serve(ProxyServer& server, Worker& w, tcp::socket socket) {
    auto const& config = server.config_;
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    std::string client_ip = ec ? "" : peer.address().to_string();
    beast::tcp_stream client(std::move(socket));
    beast::flat_buffer buffer;
    TrafficMeter meter;
    auto account = [&] {
      meter.account(client.socket().native_handle(), server.metrics_.client_received_bytes,
                    server.metrics_.client_sent_bytes);
    };
    bool first = true;
    for (;;) {
      // A new connection must start its request within header_read_ms (a connection that sends
      // nothing is a slowloris too); between keep-alive requests it may idle for idle_ms.
      core::Millis wait = first ? config.header_read_timeout : config.idle_timeout;
      first = false;
      if (buffer.size() == 0 && !co_await wait_for_request(w, client.socket(), wait)) break;
      bhttp::request_parser<bhttp::buffer_body> parser;
      // No body limit while the header is read: a Content-Length over the limit is refused below,
      // where the header is whole and can be logged. Chunked bodies get the limit after that.
      parser.body_limit(boost::none);
      // The head goes through the strict HTTP/1.1 layer (http/strict.hpp) before Beast parses
      // it: the gateway forwards nothing `outboard serve` would refuse. The whole head must come
      // within header_read_ms (slowloris); a watchdog, not the stream's own timeout, so the 408
      // can still be written.
      io::StrictRead head;
      {
        ReadWatchdog watchdog(client, std::chrono::steady_clock::now() + config.header_read_timeout);
        head = co_await io::async_read_head_strict(client, buffer, parser, head_limits(config));
        if (watchdog.fired()) head = io::StrictRead{beast::error::timeout, std::nullopt};
      }
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
      bool again = co_await proxy_request(server, w, client, buffer, parser, guard, client_ip);
      account();
      if (!again) break;
    }
    beast::error_code ignored;
    client.socket().shutdown(tcp::socket::shutdown_send, ignored);
    account();
    client.close();
  }

  // A connection over a cap: 503 with Retry-After and a JSON reason, then closed. What the client
  // sent meanwhile is read and dropped for a moment after our half-close, so closing does not
  // reset the connection and destroy the answer before the client read it.
  static asio::awaitable<void> refuse_connection(ProxyServer& server, tcp::socket socket, ConnectionLimits::Verdict why) {
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

  static void log_exception(std::exception_ptr e, char const* what) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      spdlog::error("{} ended by exception: {}", what, ex.what());
    }
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
      boost::system::error_code pec;
      auto peer = socket.remote_endpoint(pec);
      std::string client_ip = pec ? "" : peer.address().to_string();
      auto verdict = server.connection_limits_.admit(client_ip);
      if (verdict != ConnectionLimits::Verdict::admitted) {
        asio::co_spawn(w.io, refuse_connection(server, std::move(socket), verdict),
                       [](std::exception_ptr e) { log_exception(e, "refused connection"); });
        continue;
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
  }
};

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
      worker->draining = true;
      boost::system::error_code ignored;
      worker->acceptor.close(ignored);
      for (auto* socket : worker->idle_clients) socket->cancel(ignored);
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
