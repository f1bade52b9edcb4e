#include "io/write_response.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <string>

#include "core/use_nothrow.hpp"

namespace outboard::io {

boost::asio::awaitable<boost::system::error_code> async_write_response(boost::beast::tcp_stream& stream,
                                                                       http::Response& response) {
  if (response.chunked()) {
    auto [ec, n] = co_await boost::beast::http::async_write(stream, response, core::use_nothrow);
    co_return ec;
  }
  std::string const head = http::response_head_text(response);
  std::array<boost::asio::const_buffer, 2> const parts{boost::asio::buffer(head), boost::asio::buffer(response.body())};
  auto [ec, n] = co_await boost::asio::async_write(stream, parts, core::use_nothrow);
  co_return ec;
}

}  // namespace outboard::io
