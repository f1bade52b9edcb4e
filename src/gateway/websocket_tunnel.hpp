#pragma once
// The gateway's WebSocket tunnel: after the handshake, bytes are copied both ways unchanged, but
// through a FrameTracker per direction (ws_frame.hpp), so the gateway can end a tunnel the way
// RFC 6455 asks: a close frame to each side *between* two frames, then a wait for the peers'
// close frames, then the sockets closed. Three things start that:
//   - drain: TunnelRegistry::drain_all(), fired by the worker when the gateway drains
//     -> close 1001 "going away";
//   - its backend left: TunnelRegistry::close_to_departed(), fired by the worker when the tunnel's
//     backend was removed from the pool or put into draining -> close 1001 "going away";
//   - idle: no byte either way for TunnelOptions::idle_timeout -> close 1001 "idle";
//   - a frame header that breaks RFC 6455 (ws::FrameError) -> close 1002 "protocol error"; the
//     bad header and what follows it are never passed on.
// A closing tunnel waits at most close_grace (for a frame being sent to end, and for the peers'
// close frames); then its sockets are closed whatever state they are in.
//
// How ProxyServer wires it (src/gateway/proxy_server.cpp):
//   1. `TunnelRegistry tunnels;` in ProxyServer::Worker (one per worker thread).
//   2. In ProxyServer::drain's posted lambda (it runs on the worker's thread):
//        worker->tunnels.drain_all();
//   3. In ClientSession::proxy_websocket, replace everything after `up->stream.expires_never();`
//      (the two early writes and the `pump || pump` line) with:
//        std::string from_client = beast::buffers_to_string(client_buffer.data());
//        std::string from_upstream = beast::buffers_to_string(up->buffer.data());
//        client_buffer.consume(client_buffer.size());
//        up->buffer.consume(up->buffer.size());
//        TunnelOptions options{config.websocket_idle_timeout, config.websocket_drain_grace, backend.get()};
//        co_await splice_websocket(client.socket(), up->stream.socket(), std::move(from_client),
//                                  std::move(from_upstream), options, w.tunnels, server.metrics_.websocket);
//      The early bytes must go through the tunnel (not be written by the caller) because they
//      are the start of the first frames: the trackers must see them.
//   4. GatewayMetrics gets a `WebSocketCounters websocket;` and exports its four values.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/clock.hpp"

namespace outboard::gateway {

class Backend;

// Shared by every worker (relaxed atomics), read by /metrics.
struct WebSocketCounters {
  std::atomic<std::uint64_t> open{0};             // tunnels running now (a gauge)
  std::atomic<std::uint64_t> closed_idle{0};      // tunnels closed by the idle timeout
  std::atomic<std::uint64_t> closed_drain{0};     // tunnels closed by a drain
  std::atomic<std::uint64_t> closed_backend_removed{0};  // closed because their backend left or drains
  std::atomic<std::uint64_t> protocol_errors{0};  // tunnels closed with 1002 for a bad frame header
};

struct TunnelOptions {
  core::Millis idle_timeout{300'000};  // 0: no idle timeout
  core::Millis close_grace{5'000};     // a closing tunnel's wait for frames to end and peers to answer
  // The backend the tunnel leads to, for close_to_departed (only compared and passed to its
  // predicate; the caller keeps it alive for the tunnel's life). Null: never closed that way.
  Backend const* backend = nullptr;
};

// Why a tunnel ended.
enum class TunnelEnd {
  peers_closed,    // both directions ended by themselves (a close handshake, EOF or an error)
  idle,
  drain,
  backend_removed,  // its backend left the pool or drains
  protocol_error,
};

std::string_view to_string(TunnelEnd end);

class WebSocketTunnel;

// The live tunnels of one worker thread. Every call, and every tunnel registered here, belongs to
// that thread: reach it from elsewhere with asio::post to the worker's io_context.
class TunnelRegistry {
 public:
  // Asks every live tunnel to close with 1001 "going away"; tunnels started afterwards close at
  // once. Returns at once: the tunnels end on their own, within their close grace.
  void drain_all();
  // Asks every live tunnel whose backend `departed` says is gone (removed from the pool or
  // draining) to close with 1001 "going away", as a drain does, so its client reconnects to
  // another backend at once. Returns how many began closing.
  std::size_t close_to_departed(std::function<bool(Backend const&)> const& departed);
  bool draining() const { return draining_; }
  std::size_t live() const { return tunnels_.size(); }

 private:
  friend class WebSocketTunnel;
  std::unordered_set<WebSocketTunnel*> tunnels_;
  bool draining_ = false;
};

// Runs the tunnel until both directions are over, then closes both sockets. `client` and
// `upstream` are past the handshake and must outlive the coroutine; `from_client` and
// `from_upstream` are bytes each side sent that were read with the handshake (they go first).
// Runs on the registry's thread. Never throws on network errors: they end the tunnel.
boost::asio::awaitable<TunnelEnd> splice_websocket(boost::asio::ip::tcp::socket& client,
                                                   boost::asio::ip::tcp::socket& upstream,
                                                   std::string from_client, std::string from_upstream,
                                                   TunnelOptions options, TunnelRegistry& registry,
                                                   WebSocketCounters& counters);

}  // namespace outboard::gateway
