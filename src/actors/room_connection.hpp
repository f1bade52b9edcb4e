#pragma once
// One player's WebSocket on GET /rooms/{id} (docs/ACTORS.md), on its worker thread from the
// upgrade to the close, on the server that owns the room. A reader handles the player's messages
// one at a time (each a turn of the room on the host's thread); a writer sends what the room
// delivers, in order. The room reaches it as a Seat: deliver and evict post onto its thread.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/actor_host.hpp"
#include "http/message.hpp"
#include "io/http_server.hpp"
#include "io/websocket_writer.hpp"
#include "realtime/rate.hpp"

namespace outboard::actors {

class RoomConnection final : public Seat, public std::enable_shared_from_this<RoomConnection> {
 public:
  // Answers the upgrade (the 101) and serves the player until the WebSocket closes.
  static boost::asio::awaitable<void> run(ActorHost& host, io::TakenConnection taken, http::Request request,
                                          std::string room, std::string player, std::string instance);

  RoomConnection(ActorHost& host, io::TakenConnection taken, std::string room, std::string player);

  void deliver(std::shared_ptr<std::string const> frame) override;
  void evict(std::uint16_t code, std::string reason) override;

 private:
  using Socket = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  boost::asio::awaitable<void> serve(http::Request request, std::string early, std::string instance);
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> handle(std::string_view text);
  boost::asio::awaitable<void> answer(TurnResult result, std::int64_t seq);
  void enqueue(std::string frame);
  void begin_close(std::uint16_t code, std::string reason, bool drop_outbox);

  ActorHost& host_;
  Socket ws_;
  boost::asio::any_io_executor executor_;
  std::string room_;
  std::string player_;
  bool joined_ = false;
  realtime::RateLimiter rate_;
  io::WebSocketWriter writer_;  // the outbox, the writer and the close (after ws_: it refers to it)
};

}  // namespace outboard::actors
