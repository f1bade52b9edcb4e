#include "lab/chat_client.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using core::use_nothrow;

// Nothing at all for this long (not even a pong to our ping at half of it): the peer is gone.
constexpr std::chrono::seconds kIdle{5};

}  // namespace

ChatClient::ChatClient(asio::any_io_executor executor) : ws_(std::move(executor)) {}

asio::awaitable<Upgrade> ChatClient::open(std::uint16_t port, Headers headers, std::chrono::milliseconds timeout) {
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
  auto [hec] = co_await ws_.async_handshake(res, host, "/ws", use_nothrow);
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

}  // namespace outboard::lab
