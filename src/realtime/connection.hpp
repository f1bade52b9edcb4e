#pragma once
// One client's WebSocket on /ws (docs/REALTIME.md), on its worker thread from upgrade to close.
//
// Two coroutines share it: the reader decodes and handles client messages one at a time, the
// writer sends the outbox in order (Beast allows one read and one write at once). Room messages
// reach the outbox through a cursor per room, the last seq delivered: a frame at or below it is
// dropped (a repeat), the next one is sent, and one beyond it (a gap: the reader missed some, or
// the client rejoined with `since`) makes the connection read what is missing from the feed's
// history first. So every client gets each message of its rooms once and in order, across
// reconnects to any instance, as long as the history reaches back; when it does not, it is told.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "io/http_server.hpp"
#include "realtime/hub.hpp"
#include "io/websocket_writer.hpp"
#include "realtime/protocol.hpp"
#include "realtime/rate.hpp"

namespace outboard::realtime {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Answers the upgrade `request` (the 101) and serves the WebSocket until it closes. `user` is
  // who the request authenticated as.
  static boost::asio::awaitable<void> run(ThreadHub& hub, io::TakenConnection taken, http::Request request,
                                          std::string user);

  Connection(ThreadHub& hub, io::TakenConnection taken, std::string user);

  // From the ThreadHub, on this thread.
  void on_frames(std::string const& room, std::vector<Frame> const& frames);
  void recheck(std::string const& room);  // the feed may have missed entries: re-read after the cursor
  void go_away();                         // 1001: the server drains

 private:
  using Socket = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using Shared = io::WebSocketWriter::Frame;

  struct Room {
    std::int64_t cursor = 0;       // the last seq delivered to this client
    bool filling = false;          // a read of the history is under way; frames wait in `stash`
    bool recheck_pending = false;  // asked to re-read while one was under way
    std::uint64_t generation = 0;  // a fill of an earlier join of the same room stops
    std::vector<Frame> stash;
  };

  boost::asio::awaitable<void> serve(http::Request request, std::string early);
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> handle(std::string_view text);
  boost::asio::awaitable<void> join(JoinRequest request);
  boost::asio::awaitable<void> send(SendRequest request);
  boost::asio::awaitable<void> presence(PresenceRequest request);
  void leave(LeaveRequest const& request);
  void finish(CloseReason reason);

  // The cursor rule, for one frame of a room that is not being filled.
  void apply(std::string const& room, Room& state, Frame const& frame);
  void start_fill(std::string const& room);
  static boost::asio::awaitable<void> fill(std::shared_ptr<Connection> self, std::string room, std::uint64_t generation);
  // Reads the history after the cursor up to the feed's latest, reporting a horizon it meets.
  boost::asio::awaitable<void> replay(std::string const& room, std::uint64_t generation);
  void end_fill(std::string const& room);
  Room* room_of(std::string const& room, std::uint64_t generation);

  void enqueue(Shared frame);
  void enqueue(std::string frame) { enqueue(std::make_shared<std::string const>(std::move(frame))); }
  void refuse(Refusal why, std::string detail, std::string_view room = {}, std::string_view id = {});
  // Starts the closing handshake with `code`; `drop_outbox` for a cut (slow consumer, bad
  // input), else what is queued goes first (drain). A close that does not complete within
  // close_grace cuts the connection.
  void begin_close(boost::beast::websocket::close_code code, std::string reason, CloseReason why, bool drop_outbox);

  ThreadHub& hub_;
  Socket ws_;
  std::string user_;
  std::string id_;
  bool resume_;
  std::map<std::string, Room> rooms_;
  std::uint64_t generations_ = 0;
  RateLimiter rate_;
  io::WebSocketWriter writer_;  // the outbox, the writer and the close (after ws_: it refers to it)
  std::optional<CloseReason> end_reason_;
};

}  // namespace outboard::realtime
