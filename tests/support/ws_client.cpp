#include "support/ws_client.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <stdexcept>

namespace outboard::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

template <class Op>
void WsClient::run(Op&& start, std::chrono::milliseconds timeout) {
  beast::error_code result = asio::error::would_block;
  bool done = false;
  beast::get_lowest_layer(ws_).expires_after(timeout);
  start([&](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  io_.restart();
  while (!done && io_.run_one() > 0) {
  }
  if (!done) throw std::runtime_error("websocket: the operation never completed");
  if (result) throw beast::system_error(result);
}

WsClient::WsClient(std::uint16_t port, HeaderList const& headers, std::string path) : ws_(io_) {
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  run([&](auto handler) { beast::get_lowest_layer(ws_).async_connect(endpoint, handler); }, kHttpTimeout);
  ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
    for (auto const& [name, value] : headers) request.set(name, value);
  }));
  std::string host = "127.0.0.1:" + std::to_string(port);
  run([&](auto handler) { ws_.async_handshake(host, path, handler); }, kHttpTimeout);
}

WsClient::~WsClient() {
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

void WsClient::send_text(std::string_view text) {
  ws_.text(true);
  run([&](auto handler) { ws_.async_write(asio::buffer(text.data(), text.size()), handler); }, kHttpTimeout);
}

void WsClient::send_binary(std::string_view bytes) {
  ws_.binary(true);
  run([&](auto handler) { ws_.async_write(asio::buffer(bytes.data(), bytes.size()), handler); }, kHttpTimeout);
}

nlohmann::json WsClient::next(std::chrono::milliseconds timeout) {
  beast::flat_buffer buffer;
  run([&](auto handler) { ws_.async_read(buffer, handler); }, timeout);
  return nlohmann::json::parse(beast::buffers_to_string(buffer.data()));
}

nlohmann::json WsClient::next_of_type(std::string_view type, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("websocket: no '" + std::string(type) + "' message in time");
    auto message = next(left);
    if (message.value("type", "") == type) return message;
  }
}

int WsClient::wait_close(std::chrono::milliseconds timeout, std::vector<nlohmann::json>* seen) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("websocket: still open");
    beast::flat_buffer buffer;
    try {
      run([&](auto handler) { ws_.async_read(buffer, handler); }, left);
      if (seen) seen->push_back(nlohmann::json::parse(beast::buffers_to_string(buffer.cdata()), nullptr, false));
    } catch (beast::system_error const& e) {
      if (e.code() == websocket::error::closed) return ws_.reason().code;
      if (e.code() == beast::error::timeout) throw;
      return 0;  // reset or EOF without a close frame
    }
  }
}

HttpResponse refused_upgrade(std::uint16_t port, HeaderList const& headers, std::string const& path) {
  RawConnection connection(port);
  std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  for (auto const& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  connection.send(request);
  return connection.read_response();
}

HeaderList cookie_header(HttpClient const& browser) {
  HeaderList headers;
  std::string cookie;
  for (auto const& [name, value] : browser.cookies()) cookie += (cookie.empty() ? "" : "; ") + name + "=" + value;
  if (!cookie.empty()) headers.emplace_back("Cookie", cookie);
  return headers;
}

}  // namespace outboard::testing
