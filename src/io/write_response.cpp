#include "io/write_response.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <cerrno>
#include <string>

#include "core/use_nothrow.hpp"

namespace outboard::io {

namespace {

// One sendmsg that does not wait: how many bytes of `parts` the socket took now (0 when its
// buffer is full), or the error. MSG_NOSIGNAL: a peer gone is an EPIPE here, not a signal.
std::size_t send_now(int fd, std::array<boost::asio::const_buffer, 2> const& parts, boost::system::error_code& ec) {
  std::array<iovec, 2> iov{};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    iov[i].iov_base = const_cast<void*>(parts[i].data());  // sendmsg only reads it
    iov[i].iov_len = parts[i].size();
  }
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = iov.size();
  for (;;) {
    ssize_t sent = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec.assign(errno, boost::system::system_category());
    return 0;
  }
}

}  // namespace

boost::asio::awaitable<boost::system::error_code> async_write_now(boost::beast::tcp_stream& stream,
                                                                  std::array<boost::asio::const_buffer, 2> parts) {
  // Tried at once first: what the socket takes whole (the usual case: its send buffer is empty
  // between a keep-alive connection's messages) needs no asynchronous operation, which cost
  // about 4k instructions of a 36k `GET /me` (the operation, its handler and the coroutine's
  // suspension; bench/service/profile.sh). What it does not take waits for the socket.
  boost::system::error_code ec;
  std::size_t sent = send_now(stream.socket().native_handle(), parts, ec);
  if (ec) co_return ec;
  if (sent >= parts[0].size()) {
    parts[1] += sent - parts[0].size();
    parts[0] = boost::asio::const_buffer();
  } else {
    parts[0] += sent;
  }
  if (parts[0].size() + parts[1].size() == 0) co_return ec;
  auto [wec, n] = co_await boost::asio::async_write(stream, parts, core::use_nothrow);
  co_return wec;
}

boost::asio::awaitable<boost::system::error_code> async_write_response(boost::beast::tcp_stream& stream,
                                                                       http::Response& response) {
  if (response.chunked()) {
    auto [ec, n] = co_await boost::beast::http::async_write(stream, response, core::use_nothrow);
    co_return ec;
  }
  std::string const head = http::response_head_text(response);
  std::array<boost::asio::const_buffer, 2> const parts{boost::asio::buffer(head), boost::asio::buffer(response.body())};
  co_return co_await async_write_now(stream, parts);
}

}  // namespace outboard::io
