#include "io/websocket_accept.hpp"

#include "core/use_nothrow.hpp"

namespace outboard::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

asio::awaitable<bool> accept_websocket(WebSocket& ws, http::Request const& request, std::string early,
                                       WebSocketOptions const& options) {
  beast::get_lowest_layer(ws).expires_never();  // the websocket's own timeouts from here on
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.handshake_timeout;
  timeouts.idle_timeout = options.idle_timeout.count() > 0 ? options.idle_timeout : websocket::stream_base::none();
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.read_message_max(options.max_message_bytes);
  // A server's frames go out unmasked and whole (no fragmenting), so Beast's write buffer, 4 KiB
  // per connection by default, is never used: keep it at its minimum.
  ws.auto_fragment(false);
  ws.write_buffer_bytes(8);
  ws.set_option(websocket::stream_base::decorator(
      [served_by = options.served_by](websocket::response_type& response) { response.set("X-Served-By", served_by); }));
  if (early.empty()) {
    auto [ec] = co_await ws.async_accept(request, core::use_nothrow);
    co_return !ec;
  }
  // Beast takes bytes already received only with the request still unparsed: so the request is
  // given back as text, followed by whatever came after it; Beast keeps the rest for its frames.
  std::string received = http::request_head_text(request) + early;
  auto [ec] = co_await ws.async_accept(asio::buffer(received), core::use_nothrow);
  co_return !ec;
}

}  // namespace outboard::io
