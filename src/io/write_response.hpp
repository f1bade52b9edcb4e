#pragma once
// Writing a response: its head (http::response_head_text) and its body in ONE gather write. Beast's
// serializer does the same in the end, through a composed operation and a buffer-sequence state
// machine that cost a quarter of a `GET /me`'s instructions (docs/BENCHMARKS.md, "Service
// profile"); it is kept for a chunked body, which it encodes. The write is tried at once with a
// sendmsg that does not wait; only what the socket does not take goes through Asio.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include <array>

#include "http/message.hpp"

namespace outboard::io {

// Writes both buffers whole, in order: first with one sendmsg that does not wait, then what the
// socket did not take through Asio's asynchronous write, under the stream's own timeout (set by
// the caller). The error of the write, if any. For the gateway's relay too.
boost::asio::awaitable<boost::system::error_code> async_write_now(boost::beast::tcp_stream& stream,
                                                                  std::array<boost::asio::const_buffer, 2> parts);

// Under the stream's own timeout (set by the caller). The error of the write, if any.
boost::asio::awaitable<boost::system::error_code> async_write_response(boost::beast::tcp_stream& stream,
                                                                       http::Response& response);

}  // namespace outboard::io
