#pragma once
// Internal to src/gateway (proxy_server.cpp, request_pipeline.cpp, websocket_proxy.cpp): a
// ProxyServer worker thread, and the coroutines that serve one client connection on it.
//   proxy_server.cpp      the connection loop (io/connection_loop.hpp, shared with serve), the
//                         gateway's own answers, the worker's view of the backend pool
//   request_pipeline.cpp  one proxied request: body held for a retry, backend pick and slot,
//                         send, response head, relay (relay.hpp), access log
//   websocket_proxy.cpp   an Upgrade: the handshake, then the frame-following tunnel
//   upstream_pool.hpp     the thread's keep-alive connections to the backends
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/random.hpp"
#include "gateway/backend_queue.hpp"
#include "gateway/balancer.hpp"
#include "gateway/forwarding.hpp"
#include "gateway/proxy_server.hpp"
#include "gateway/relay.hpp"
#include "gateway/traffic_meter.hpp"
#include "gateway/upstream_pool.hpp"
#include "gateway/websocket_tunnel.hpp"
#include "io/connection_loop.hpp"
#include "io/strict_read.hpp"

namespace outboard::gateway {

using tcp = asio::ip::tcp;

// What a backend's response head may be: generous (backends are ours), but bounded.
inline constexpr http::HeadLimits kBackendHeadLimits{64 * 1024, 256, 8 << 10};
// The body of a backend's refusal of a WebSocket upgrade, read whole before it is passed on.
inline constexpr std::size_t kRefusalBodyLimit = 64 * 1024;

// An error the gateway answers itself: JSON reason, X-Outboard-Gateway: 1, and the connection closes.
bhttp::response<bhttp::string_body> gateway_error(http::Status status, std::string_view code, std::string_view why);
// A 503 from a limit (connections, backend queue): the client may come back after a while.
// `rule` is the JSON "error" and so the access log's, naming the limit that refused.
bhttp::response<bhttp::string_body> overloaded(std::string_view rule, std::string_view why, int retry_after_s);

struct ProxyServer::Worker {
  // Set when the worker is being destroyed. Declared before `io`, so it outlives it: io's
  // destructor destroys the coroutines still suspended, and their InFlight guards must then
  // leave alone the members declared after io, which are already gone.
  bool closing = false;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  // Client connections between two requests, and this thread's draining flag (drain cuts them).
  io::IdleConnections idle;
  TunnelRegistry tunnels;  // this thread's live WebSocket tunnels, for drain and backend removal

  // This thread's view of truth, refreshed when the pool's version moves.
  std::uint64_t version = UINT64_MAX;
  std::shared_ptr<Membership const> members;
  std::vector<Candidate> candidates;
  std::vector<bool> last_available;
  std::unique_ptr<Balancer> balancer;
  // Keyed by the Backend object (stable while it is a member; a backend that stays through a
  // reload keeps its object), so the hot path hashes a pointer, not a string.
  std::unordered_map<Backend const*, std::uint32_t> outstanding;
  UpstreamPool upstreams;
  // The byte meters of this thread's client and backend connections, accounted once a second
  // (flush_meters) instead of a getsockopt per request.
  MeterRegistry meters;
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

// A client connection's life, as static coroutines on its worker's thread (static: a coroutine
// must not run on a `this` that may be a temporary). A friend of ProxyServer.
struct ClientSession {
  using Worker = ProxyServer::Worker;

  // ---- the connection (proxy_server.cpp)

  // Rebuilds the candidate list from the snapshot and the backends' live state.
  static void refresh(ProxyServer& server, Worker& w);

  // An answer the gateway gives itself (a refused request, no backend, a backend that failed)
  // gets its access-log line too: these are the ones an operator most needs to see. `request` is
  // null when the header could not be read.
  static void log_own_answer(ProxyServer& server, beast::tcp_stream& client,
                             bhttp::response<bhttp::string_body> const& res, RequestHeader const* request);

  static asio::awaitable<void> send_error(ProxyServer& server, beast::tcp_stream& client,
                                          bhttp::response<bhttp::string_body> res,
                                          RequestHeader const* request = nullptr);

  // A message the strict HTTP layer refused (http/strict.hpp): its status and rule id, logged.
  static asio::awaitable<void> send_rejection(ProxyServer& server, beast::tcp_stream& client,
                                              http::Rejection const& rejection, RequestHeader const* request = nullptr);

  static http::HeadLimits head_limits(GatewayConfig const& config);

  static asio::awaitable<void> serve(ProxyServer& server, Worker& w, tcp::socket socket);

  // A connection over a cap: 503 with Retry-After and a JSON reason, then closed. What the client
  // sent meanwhile is read and dropped for a moment after our half-close, so closing does not
  // reset the connection and destroy the answer before the client read it.
  static asio::awaitable<void> refuse_connection(ProxyServer& server, tcp::socket socket, ConnectionLimits::Verdict why);

  static void log_exception(std::exception_ptr e, char const* what);

  static asio::awaitable<void> accept_loop(ProxyServer& server, Worker& w);
  // A connection accepted: refused over a cap (503), else served by its own coroutine.
  static void start_connection(ProxyServer& server, Worker& w, tcp::socket socket);
  // Once a second, for as long as the worker runs: accounts the thread's byte meters, and closes
  // the WebSocket tunnels whose backend left (close_departed_tunnels).
  static asio::awaitable<void> flush_meters(Worker& w);
  // Closes (1001) this thread's tunnels to a backend that is no longer in the pool or drains.
  // Polled, not pushed: the admin API and a reload change the pool from other threads, and a
  // worker with no request to serve would not look at the pool's version otherwise.
  static void close_departed_tunnels(ProxyServer& server, Worker& w);

  // The answer owed for a request that could not be read (io::read_error_response), marked as
  // the gateway's own; nothing when the client just went away.
  static std::optional<bhttp::response<bhttp::string_body>> read_error(beast::error_code ec);

  // ---- one request (request_pipeline.cpp)

  static std::string hash_key_of(ProxyServer& server, RequestHeader const& header, std::string const& client_ip);

  // A connection to `backend`: the most recently pooled one (reused = true), or, when there is
  // none or `fresh` asks for a new one, a new connection. Null when connecting failed.
  static asio::awaitable<std::unique_ptr<Upstream>> connect_upstream(ProxyServer& server, Worker& w,
                                                                     Backend const& backend, bool& reused,
                                                                     bool fresh = false);

  // Reads the first retry_buffer_bytes of a request body (all of a body that ends within them)
  // into `held`, under the body pace and the total deadline. Answers the client itself on a bad
  // or late body; false then (the connection ends).
  static asio::awaitable<bool> read_held_body(ProxyServer& server, beast::tcp_stream& client,
                                              beast::flat_buffer& client_buffer,
                                              bhttp::request_parser<bhttp::buffer_body>& parser, io::ChunkGuard& guard,
                                              RelayLimits const& limits, std::string& held);

  // A request body that fell behind its pace (or the total deadline): 408, and the connection
  // closes (what was sent of the body is unread; the backend connection, if any, is dropped).
  static asio::awaitable<void> answer_slow_body(ProxyServer& server, beast::tcp_stream& client,
                                                RequestHeader const& request);

  // Waits for a slot on `backend` (limits.max_in_flight_per_backend); answers 503 itself when the
  // queue is full or the wait timed out, and returns false then.
  static asio::awaitable<bool> acquire_slot(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                            Backend& backend, TimePoint deadline, RequestHeader const& request);

  // Sends the request whose header is in `parser` on `up`: a whole body (held) as the message's
  // own buffer, in one write with the header; a streamed body through the relay, after the held
  // prefix. May run twice for one request (a reused connection found closed), so it sets the
  // framing headers each time.
  static asio::awaitable<RelayResult> send_request(Upstream& up, beast::tcp_stream& client,
                                                   beast::flat_buffer& client_buffer,
                                                   bhttp::request_parser<bhttp::buffer_body>& parser,
                                                   io::ChunkGuard& guard, RelayLimits const& limits,
                                                   std::string& held, bool body_pending,
                                                   boost::optional<std::uint64_t> content_length, bool chunked,
                                                  std::span<char> chunk);

  // Reads the backend's response header into `slot`, past interim responses: a 100 Continue is
  // consumed (the gateway answered the client's Expect itself), a 103 Early Hints or any other
  // 1xx but 101 is passed on to the client (not to an HTTP/1.0 client, RFC 9110 section 15.2),
  // and the final header is what the caller relays. All of it within `first_byte_until`.
  // Returns the error and whether it was the client's side (an interim response could not be
  // written to it).
  static asio::awaitable<RelayResult> read_final_header(
      beast::tcp_stream& client, Upstream& up, std::optional<bhttp::response_parser<bhttp::buffer_body>>& slot,
      RequestHeader const& request, TimePoint first_byte_until, RelayLimits const& limits);

  // Proxies one request whose header is in `parser`. Returns whether the client connection may
  // carry another request.
  static asio::awaitable<bool> proxy_request(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                             beast::flat_buffer& client_buffer,
                                             bhttp::request_parser<bhttp::buffer_body>& parser,
                                             io::ChunkGuard& guard, std::string const& client_ip,
                                             std::span<char> chunk);


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

  // ---- WebSocket (websocket_proxy.cpp)

  // A backend's refusal of an upgrade, passed on with its body.
  static asio::awaitable<void> relay_refusal(ProxyServer& server, beast::tcp_stream& client, Upstream& up,
                                             bhttp::response_parser<bhttp::string_body>& rp,
                                             bhttp::request_header<> const& request);
  // Forwards the handshake, then copies bytes both ways until either side closes.
  static asio::awaitable<void> proxy_websocket(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                               beast::flat_buffer& client_buffer,
                                               bhttp::request_parser<bhttp::buffer_body>& parser,
                                               std::string const& client_ip);
};

}  // namespace outboard::gateway
