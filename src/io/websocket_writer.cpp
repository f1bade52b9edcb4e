#include "io/websocket_writer.hpp"

#include <boost/asio/buffer.hpp>

#include "core/use_nothrow.hpp"

namespace outboard::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using core::use_nothrow;

WebSocketWriter::WebSocketWriter(WebSocket& ws, std::size_t limit, std::chrono::milliseconds close_grace)
    : ws_(ws),
      limit_(limit),
      close_grace_(close_grace),
      wake_(ws.get_executor()),
      space_(ws.get_executor()),
      cut_(ws.get_executor()) {}

asio::awaitable<void> WebSocketWriter::run(std::shared_ptr<void> owner) {
  (void)owner;  // held: the writer may outlive the reader by a close frame
  for (;;) {
    while (outbox_.empty() && !closing_ && !ended_) {
      writer_waiting_ = true;
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(use_nothrow);
      writer_waiting_ = false;
    }
    if (ended_) break;
    if (closing_ && (drop_outbox_ || outbox_.empty())) {
      auto reason = *closing_;
      co_await ws_.async_close(reason, use_nothrow);
      break;  // the reader sees the client's close frame (or the handshake timeout) and ends
    }
    Frame frame = outbox_.pop();
    if (space_waiters_ > 0 && outbox_.size() <= limit_ / 2) space_.cancel();
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(*frame), use_nothrow);
    if (ec) {
      // The reader ends too: the socket is gone. Close it so a read still pending returns.
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      break;
    }
  }
}

bool WebSocketWriter::push(Frame frame) {
  if (closing_ || ended_) return true;
  if (outbox_.size() >= limit_) return false;
  outbox_.push(std::move(frame));
  if (writer_waiting_) wake_.cancel();
  return true;
}

asio::awaitable<void> WebSocketWriter::wait_for_space() {
  while (!ended_ && !closing_ && outbox_.size() > limit_ / 2) {
    ++space_waiters_;
    space_.expires_at(asio::steady_timer::time_point::max());
    co_await space_.async_wait(use_nothrow);
    --space_waiters_;
  }
}

bool WebSocketWriter::begin_close(websocket::close_code code, std::string const& reason, bool drop_outbox,
                                  std::shared_ptr<void> owner) {
  if (closing_ || ended_) return false;
  closing_ = websocket::close_reason(code, reason);
  drop_outbox_ = drop_outbox;
  if (drop_outbox) outbox_.clear();
  wake_.cancel();
  space_.cancel();
  // A client that takes nothing (its window full) never sees the close frame: cut it then.
  cut_.expires_after(2 * close_grace_);
  cut_.async_wait([this, owner = std::move(owner)](boost::system::error_code ec) {
    if (ec || ended_) return;
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  });
  return true;
}

void WebSocketWriter::end() {
  ended_ = true;
  wake_.cancel();
  space_.cancel();
  cut_.cancel();  // lets go of the owner now rather than at the deadline
}

}  // namespace outboard::io
