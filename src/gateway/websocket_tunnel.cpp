#include "gateway/websocket_tunnel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <span>
#include <vector>

#include "core/random.hpp"
#include "gateway/ws_frame.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using core::use_nothrow;
using Clock = std::chrono::steady_clock;

std::span<std::uint8_t const> as_bytes(std::string const& s) {
  return {reinterpret_cast<std::uint8_t const*>(s.data()), s.size()};
}

// RFC 6455 section 5.3: a client's masking key must not be predictable, so each close frame the
// gateway sends to a backend gets 4 bytes from the CSPRNG (once per tunnel: not a hot path).
std::array<std::uint8_t, 4> random_mask() {
  std::string bytes = core::random_bytes(4);
  std::array<std::uint8_t, 4> mask{};
  std::copy_n(bytes.begin(), 4, mask.begin());
  return mask;
}

// One direction of the tunnel: bytes read from `from` go to `to`.
struct Leg {
  enum class State {
    forwarding,      // frames are passed on
    awaiting_close,  // our close frame went to `to`; `from`'s frames are followed, not passed,
                     // until its own close frame
    over,
  };

  Leg(tcp::socket& from_socket, tcp::socket& to_socket, ws::Sender sender, std::string early_bytes)
      : from(from_socket), to(to_socket), tracker(sender), masks_output(sender == ws::Sender::client),
        early(std::move(early_bytes)) {}

  tcp::socket& from;
  tcp::socket& to;
  ws::FrameTracker tracker;
  bool masks_output;  // `to` is the backend: the gateway speaks as a client there and must mask
  std::string early;  // read with the handshake: the first bytes of this direction
  asio::cancellation_signal wake;  // interrupts this leg's read when the tunnel starts closing
  State state = State::forwarding;
};

}  // namespace

std::string_view to_string(TunnelEnd end) {
  switch (end) {
    case TunnelEnd::peers_closed: return "peers_closed";
    case TunnelEnd::idle: return "idle";
    case TunnelEnd::drain: return "drain";
    case TunnelEnd::backend_removed: return "backend_removed";
    case TunnelEnd::protocol_error: return "protocol_error";
  }
  return "unknown";
}

// One tunnel's state, on its worker's thread. Lives in splice_websocket's frame.
class WebSocketTunnel {
 public:
  WebSocketTunnel(tcp::socket& client, tcp::socket& upstream, std::string from_client, std::string from_upstream,
                  TunnelOptions options, TunnelRegistry& registry, WebSocketCounters& counters)
      : to_upstream_(client, upstream, ws::Sender::client, std::move(from_client)),
        to_client_(upstream, client, ws::Sender::server, std::move(from_upstream)),
        options_(options),
        registry_(registry),
        counters_(counters),
        timer_(client.get_executor()) {
    registry_.tunnels_.insert(this);
    counters_.open.fetch_add(1, std::memory_order_relaxed);
  }
  ~WebSocketTunnel() {
    registry_.tunnels_.erase(this);
    counters_.open.fetch_sub(1, std::memory_order_relaxed);
  }
  WebSocketTunnel(WebSocketTunnel const&) = delete;
  WebSocketTunnel& operator=(WebSocketTunnel const&) = delete;

  asio::awaitable<TunnelEnd> run() {
    using namespace asio::experimental::awaitable_operators;
    if (registry_.draining()) begin_close(TunnelEnd::drain);
    co_await (pump(to_upstream_) && pump(to_client_) && watch());
    close_sockets();
    co_return closing_ ? end_ : TunnelEnd::peers_closed;
  }

  Backend const* backend() const { return options_.backend; }

  // The first reason wins; later ones change nothing (false). Safe to call at any time on the thread.
  bool begin_close(TunnelEnd why) {
    if (closing_ || why == TunnelEnd::peers_closed) return false;
    closing_ = true;
    end_ = why;
    switch (why) {
      case TunnelEnd::idle:
        counters_.closed_idle.fetch_add(1, std::memory_order_relaxed);
        close_code_ = ws::kCloseGoingAway;
        close_reason_ = "idle";
        break;
      case TunnelEnd::drain:
        counters_.closed_drain.fetch_add(1, std::memory_order_relaxed);
        close_code_ = ws::kCloseGoingAway;
        close_reason_ = "going away";
        break;
      case TunnelEnd::backend_removed:
        counters_.closed_backend_removed.fetch_add(1, std::memory_order_relaxed);
        close_code_ = ws::kCloseGoingAway;
        close_reason_ = "going away";
        break;
      case TunnelEnd::protocol_error:
        counters_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        close_code_ = ws::kCloseProtocolError;
        close_reason_ = "protocol error";
        break;
      case TunnelEnd::peers_closed:
        break;
    }
    close_deadline_ = Clock::now() + options_.close_grace;
    timer_.cancel();  // the watch re-arms for the grace deadline
    // A leg waiting in a read at a frame boundary must wake to send its close frame now.
    to_upstream_.wake.emit(asio::cancellation_type::total);
    to_client_.wake.emit(asio::cancellation_type::total);
    return true;
  }

 private:
  // Copies one direction until it is over. Its reads can be interrupted (Leg::wake), its writes
  // cannot: a frame is never cut by a wake-up, only by the grace deadline closing the sockets.
  asio::awaitable<void> pump(Leg& leg) {
    std::array<std::uint8_t, 16 * 1024> data;
    bool going = true;
    if (!leg.early.empty()) going = co_await relay(leg, as_bytes(leg.early));
    while (going) {
      if (closing_ && leg.state == Leg::State::forwarding && !leg.tracker.in_payload()) {
        going = co_await relay(leg, {});  // at a boundary already: the close frame goes now
        continue;
      }
      auto [ec, n] = co_await leg.from.async_read_some(asio::buffer(data),
                                                       asio::bind_cancellation_slot(leg.wake.slot(), use_nothrow));
      if (ec == asio::error::operation_aborted && leg.from.is_open()) continue;  // woken by begin_close
      if (ec) {
        // EOF (or a reset) from this side: pass the half-close on, as a plain splice would.
        boost::system::error_code ignored;
        if (leg.state == Leg::State::forwarding) leg.to.shutdown(tcp::socket::shutdown_send, ignored);
        break;
      }
      last_activity_ = Clock::now();
      going = co_await relay(leg, std::span<std::uint8_t const>(data.data(), n));
    }
    leg.state = Leg::State::over;
    if (++legs_over_ == 2) timer_.cancel();  // lets the watch end
  }

  // Passes on what the leg's state allows of `bytes` (just read from leg.from). false: the leg is
  // over (a write failed, a protocol error, or its side's close frame arrived).
  asio::awaitable<bool> relay(Leg& leg, std::span<std::uint8_t const> bytes) {
    if (leg.state == Leg::State::forwarding) {
      // Header bytes still arriving are held back (the tracker keeps them), so that a header
      // refused later was never partly sent; `carry` is what was held before this read.
      std::array<std::uint8_t, 14> carry{};
      auto held_before = leg.tracker.partial_header();
      std::size_t carry_len = held_before.size();
      std::copy(held_before.begin(), held_before.end(), carry.begin());
      // Closing: take only the rest of the frame being sent, then the close frame goes.
      auto result = leg.tracker.feed(bytes, closing_ ? ws::Stop::at_frame_end : ws::Stop::never);
      std::size_t held_after = leg.tracker.partial_header().size();
      if (carry_len + result.consumed > held_after) {
        // Something passed the checks: the carried header completed, so every byte still held
        // now came from this read.
        std::array<asio::const_buffer, 2> out{asio::buffer(carry.data(), carry_len),
                                              asio::buffer(bytes.data(), result.consumed - held_after)};
        auto [ec, n] = co_await asio::async_write(leg.to, out, use_nothrow);
        if (ec) co_return false;
      }
      if (result.error) {
        begin_close(TunnelEnd::protocol_error);
        // This side's stream cannot be followed any further: no waiting for its close frame.
        co_await send_close(leg);
        co_return false;
      }
      if (!closing_ || leg.tracker.in_payload()) co_return true;
      // Closing, and `to` is between frames.
      bytes = bytes.subspan(result.consumed);
      // This side's close frame went through already: `to` answers it; nothing to send or wait for.
      if (leg.tracker.close_frames() > 0) co_return false;
      if (!co_await send_close(leg)) co_return false;
      leg.state = Leg::State::awaiting_close;
    }
    // Awaiting this side's close frame: its frames are followed, not passed on (after a close
    // frame nothing may follow it to `to`).
    auto result = leg.tracker.feed(bytes);
    co_return !result.error && leg.tracker.close_frames() == 0;
  }

  asio::awaitable<bool> send_close(Leg& leg) {
    std::optional<std::array<std::uint8_t, 4>> mask;
    if (leg.masks_output) mask = random_mask();
    std::string frame = ws::encode_close_frame(close_code_, close_reason_, mask);
    auto [ec, n] = co_await asio::async_write(leg.to, asio::buffer(frame), use_nothrow);
    co_return !ec;
  }

  // The clock of the tunnel: the idle timeout while it runs, the grace deadline once it closes.
  asio::awaitable<void> watch() {
    while (legs_over_ < 2) {
      auto now = Clock::now();
      if (closing_) {
        if (now >= close_deadline_) {
          close_sockets();  // fails every read and write still waiting: both legs end
          co_return;
        }
        timer_.expires_at(close_deadline_);
      } else if (options_.idle_timeout.count() > 0) {
        auto idle_at = last_activity_ + options_.idle_timeout;
        if (now >= idle_at) {
          begin_close(TunnelEnd::idle);
          continue;
        }
        timer_.expires_at(idle_at);
      } else {
        timer_.expires_at(Clock::time_point::max());
      }
      co_await timer_.async_wait(use_nothrow);
    }
  }

  void close_sockets() {
    boost::system::error_code ignored;
    for (tcp::socket* s : {&to_upstream_.from, &to_client_.from}) {
      s->shutdown(tcp::socket::shutdown_both, ignored);
      s->close(ignored);
    }
  }

  Leg to_upstream_;
  Leg to_client_;
  TunnelOptions options_;
  TunnelRegistry& registry_;
  WebSocketCounters& counters_;
  asio::steady_timer timer_;
  Clock::time_point last_activity_ = Clock::now();
  Clock::time_point close_deadline_{};
  int legs_over_ = 0;
  bool closing_ = false;
  TunnelEnd end_ = TunnelEnd::peers_closed;
  std::uint16_t close_code_ = ws::kCloseGoingAway;
  std::string_view close_reason_;
};

void TunnelRegistry::drain_all() {
  draining_ = true;
  // begin_close only posts completions, so the set cannot change under this loop; a copy anyway,
  // since that is cheap and drains are rare.
  std::vector<WebSocketTunnel*> live(tunnels_.begin(), tunnels_.end());
  for (auto* tunnel : live) tunnel->begin_close(TunnelEnd::drain);
}

std::size_t TunnelRegistry::close_to_departed(std::function<bool(Backend const&)> const& departed) {
  // Picked first, closed after: the predicate runs over a set that no begin_close touches.
  std::vector<WebSocketTunnel*> leaving;
  for (auto* tunnel : tunnels_) {
    if (tunnel->backend() != nullptr && departed(*tunnel->backend())) leaving.push_back(tunnel);
  }
  std::size_t closing = 0;
  for (auto* tunnel : leaving) closing += tunnel->begin_close(TunnelEnd::backend_removed) ? 1 : 0;
  return closing;
}

asio::awaitable<TunnelEnd> splice_websocket(tcp::socket& client, tcp::socket& upstream, std::string from_client,
                                            std::string from_upstream, TunnelOptions options,
                                            TunnelRegistry& registry, WebSocketCounters& counters) {
  WebSocketTunnel tunnel(client, upstream, std::move(from_client), std::move(from_upstream), options, registry,
                         counters);
  co_return co_await tunnel.run();
}

}  // namespace outboard::gateway
