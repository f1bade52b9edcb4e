#pragma once
// The sending half of a server WebSocket of ours (GET /ws in realtime, GET /rooms/{id} in
// actors): an outbox of text frames that one coroutine writes in order, and the closing
// handshake (a close frame after what is queued, or instead of it for a cut), with the socket
// cut when the client does not take the close within twice the grace.
//
// Beast allows one read and one write at once: the connection's reader reads, this writes. All
// on the connection's thread. `owner` arguments keep the connection (which holds this) alive
// while the writer and the cut timer still need it.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "io/outbox.hpp"
#include "io/websocket_accept.hpp"

namespace outboard::io {

class WebSocketWriter {
 public:
  using Frame = Outbox::Frame;

  // `limit`: frames queued at most (a client this far behind is cut by its connection);
  // `close_grace`: how long the client has to answer a close frame (cut after twice that).
  WebSocketWriter(WebSocket& ws, std::size_t limit, std::chrono::milliseconds close_grace);

  // The writer: sends the outbox until the close frame is out or the reader has ended.
  boost::asio::awaitable<void> run(std::shared_ptr<void> owner);

  // Queues `frame` for the writer. Nothing happens once closing or ended; false when the outbox
  // holds `limit` frames already (nothing queued: the caller cuts the slow client).
  bool push(Frame frame);
  bool closing() const { return closing_.has_value(); }
  bool ended() const { return ended_; }

  // Waits until the outbox holds half its limit or less (or the connection closes): what paces
  // a long replay by what the client reads, rather than cutting it as a slow consumer.
  boost::asio::awaitable<void> wait_for_space();

  // Starts the closing handshake with `code`; `drop_outbox` for a cut (slow consumer, bad input),
  // else what is queued goes first (drain). False (nothing changes) when already closing or ended.
  bool begin_close(boost::beast::websocket::close_code code, std::string const& reason, bool drop_outbox,
                   std::shared_ptr<void> owner);

  // The reader is done (the client closed, or the socket failed): nothing more is sent.
  void end();

 private:
  WebSocket& ws_;
  std::size_t limit_;
  std::chrono::milliseconds close_grace_;
  Outbox outbox_;
  boost::asio::steady_timer wake_;   // the writer waits on it for frames
  boost::asio::steady_timer space_;  // wait_for_space() waits on it
  boost::asio::steady_timer cut_;    // the close's deadline
  bool writer_waiting_ = false;
  int space_waiters_ = 0;
  std::optional<boost::beast::websocket::close_reason> closing_;
  bool drop_outbox_ = false;
  bool ended_ = false;
};

}  // namespace outboard::io
