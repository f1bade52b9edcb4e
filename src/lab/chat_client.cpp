#include "lab/chat_client.hpp"
#include "core/use_nothrow.hpp"
#include "lab/run_stats.hpp"
#include "lab/virtual_user.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <fmt/format.h>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using core::use_nothrow;

// Nothing at all for this long (not even a pong to our ping at half of it): the peer is gone.
constexpr std::chrono::seconds kIdle{5};

}  // namespace

std::string Frame::end_reason() const {
  if (close_code != 0) return std::to_string(close_code);
  return error.find("timed out") != std::string::npos ? "timeout" : "dropped";
}

ChatClient::ChatClient(asio::any_io_executor executor) : ws_(std::move(executor)) {}

asio::awaitable<Upgrade> ChatClient::open(std::uint16_t port, Headers headers, std::chrono::milliseconds timeout,
                                          std::string path) {
  Upgrade up;
  auto& tcp = beast::get_lowest_layer(ws_);
  tcp.expires_after(timeout);
  asio::ip::tcp::endpoint where(asio::ip::address_v4::loopback(), port);
  auto [cec] = co_await tcp.async_connect(where, use_nothrow);
  if (cec) {
    up.error = "connect: " + cec.message();
    up.connection_refused = cec == asio::error::connection_refused;
    co_return up;
  }
  tcp.socket().set_option(asio::ip::tcp::no_delay(true));
  // From here the WebSocket's own timeouts govern (Beast: the TCP stream's must be off).
  tcp.expires_never();
  websocket::stream_base::timeout limits{};
  limits.handshake_timeout = timeout;
  limits.idle_timeout = kIdle;
  limits.keep_alive_pings = true;
  ws_.set_option(limits);
  ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "outboard-lab");
    for (auto const& [name, value] : headers) req.set(name, value);
  }));
  websocket::response_type res;
  std::string host = "127.0.0.1:" + std::to_string(port);
  auto [hec] = co_await ws_.async_handshake(res, host, path, use_nothrow);
  if (hec) {
    up.status = res.result_int() == 101 ? 0 : static_cast<int>(res.result_int());
    up.error = "upgrade: " + hec.message() + (res.body().empty() ? "" : " " + res.body());
    drop();
    co_return up;
  }
  ws_.text(true);
  up.ok = true;
  up.status = 101;
  co_return up;
}

asio::awaitable<Frame> ChatClient::read() {
  Frame frame;
  buffer_.clear();
  auto [ec, n] = co_await ws_.async_read(buffer_, use_nothrow);
  if (ec) {
    if (ec == websocket::error::closed) frame.close_code = static_cast<int>(ws_.reason().code);
    frame.error = ec.message();
    co_return frame;
  }
  frame.ok = true;
  frame.text = beast::buffers_to_string(buffer_.data());
  co_return frame;
}

asio::awaitable<bool> ChatClient::write(std::string text) {
  auto [ec, n] = co_await ws_.async_write(asio::buffer(text), use_nothrow);
  co_return !ec;
}

asio::awaitable<void> ChatClient::close() {
  if (ws_.is_open()) {
    websocket::close_reason reason(websocket::close_code::normal);
    co_await ws_.async_close(reason, use_nothrow);
  }
  drop();
}

void ChatClient::drop() {
  beast::error_code ignored;
  auto& socket = beast::get_lowest_layer(ws_).socket();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

GatewayDialer::GatewayDialer(int user, std::uint16_t const& gateway_port,
                             std::vector<std::uint16_t> const& gateway_ports, ChatLogin login, RunStats& stats)
    : user_(user),
      gateway_port_(gateway_port),
      gateway_ports_(gateway_ports),
      gateway_(gateway_ports.empty() ? 0 : static_cast<std::size_t>(user) % gateway_ports.size()),
      login_(std::move(login)),
      stats_(stats) {}

void GatewayDialer::next_gateway() {
  if (gateway_ports_.size() > 1) gateway_ = (gateway_ + 1) % gateway_ports_.size();
}

asio::awaitable<bool> GatewayDialer::open(ChatClient& client, std::string path, std::string what,
                                          std::chrono::milliseconds timeout) {
  auto headers = co_await login_(refused_);
  refused_ = false;
  if (!headers) co_return false;
  std::uint16_t port = gateway_ports_.empty() ? gateway_port_ : gateway_ports_[gateway_ % gateway_ports_.size()];
  Upgrade up = co_await client.open(port, *headers, timeout, path);
  if (up.ok) co_return true;
  refused_ = up.status == 401;
  record_failure(up, what);
  co_return false;
}

void GatewayDialer::record_failure(Upgrade const& up, std::string const& what) {
  Reply reply;
  reply.status = up.status;
  reply.failure = up.status == 0 ? Failure::connect : Failure::none;
  reply.error = up.error;
  stats_.record_attempt(lab_now_ms(), reply);
  if (up.connection_refused && gateway_ports_.size() > 1) {
    next_gateway();  // its gateway died: the next one
    stats_.record_gateway_move(user_);
  }
  if (up.status >= 400 && up.status < 500 && up.status != 401) {
    stats_.record_unexpected(fmt::format("{} answered {}", what, up.status));
  }
}

}  // namespace outboard::lab
