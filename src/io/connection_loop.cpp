#include "io/connection_loop.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <array>

namespace outboard::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

void IdleConnections::drain() {
  draining_ = true;
  boost::system::error_code ignored;
  for (auto* socket : waiting_) socket->cancel(ignored);
}

asio::awaitable<bool> IdleConnections::wait_for_request(tcp::socket& socket, core::Millis wait) {
  using namespace asio::experimental::awaitable_operators;
  constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
  if (draining_) co_return false;
  waiting_.insert(&socket);
  asio::steady_timer timer(socket.get_executor(), wait);
  auto result = co_await (socket.async_wait(tcp::socket::wait_read, use_nothrow) || timer.async_wait(use_nothrow));
  waiting_.erase(&socket);
  if (result.index() != 0) co_return false;  // the idle timeout
  auto [ec] = std::get<0>(result);
  co_return !ec && !draining_;
}

namespace {
http::Response closing_error(http::Status status, std::string_view code, std::string_view why) {
  auto res = http::json_error(status, code, why);
  res.keep_alive(false);
  return res;
}
}  // namespace

std::optional<http::Response> read_error_response(beast::error_code ec) {
  using he = beast::http::error;
  if (ec == he::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::operation_aborted) {
    return std::nullopt;
  }
  if (ec == beast::error::timeout) {
    return closing_error(http::Status::request_timeout, "request_timeout", "the request did not arrive in time");
  }
  if (ec == he::body_limit) {
    return closing_error(http::Status::payload_too_large, "payload_too_large", "the request body is over the size limit");
  }
  if (ec == he::header_limit) {
    return closing_error(http::Status::request_header_fields_too_large, "header_too_large",
                         "the request headers are over the size limit");
  }
  if (ec.category() == beast::http::make_error_code(he::bad_target).category()) {
    return closing_error(http::Status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;  // a socket error: nobody to answer
}

void close_gently(tcp::socket& socket) {
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink{};
  for (std::size_t total = 0; !ec && total < (64u << 10);) {
    auto ready = socket.available(ec);
    if (ec || ready == 0) break;
    total += socket.read_some(asio::buffer(sink.data(), std::min(ready, sink.size())), ec);
  }
}

}  // namespace outboard::io
