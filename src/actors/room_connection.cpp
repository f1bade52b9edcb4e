#include "actors/room_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "actors/protocol.hpp"
#include "io/websocket_accept.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::actors {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using core::use_nothrow;

namespace {
constexpr std::chrono::seconds kCloseGrace{2};
constexpr std::chrono::seconds kIdle{30};
constexpr std::size_t kOutboxLimit = 1024;  // a player this far behind is cut (1008)

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

asio::awaitable<void> RoomConnection::run(ActorHost& host, io::TakenConnection taken, http::Request request,
                                          std::string room, std::string player, std::string instance) {
  auto leftover = taken.buffer.cdata();
  std::string early(static_cast<char const*>(leftover.data()), leftover.size());
  taken.buffer.clear();
  auto self = std::make_shared<RoomConnection>(host, std::move(taken), std::move(room), std::move(player));
  co_await self->serve(std::move(request), std::move(early), std::move(instance));
}

RoomConnection::RoomConnection(ActorHost& host, io::TakenConnection taken, std::string room, std::string player)
    : host_(host),
      ws_(std::move(taken.socket)),
      executor_(ws_.get_executor()),
      room_(std::move(room)),
      player_(std::move(player)),
      rate_(host.config().messages_per_second, 2.0 * host.config().messages_per_second),
      writer_(ws_, kOutboxLimit, kCloseGrace) {}

asio::awaitable<void> RoomConnection::serve(http::Request request, std::string early, std::string instance) {
  io::WebSocketOptions options;
  options.handshake_timeout = kCloseGrace;
  options.idle_timeout = kIdle;
  options.max_message_bytes = kMaxClientMessageBytes;
  options.served_by = std::move(instance);
  if (!co_await io::accept_websocket(ws_, request, std::move(early), options)) co_return;
  request = http::Request{};  // held for the connection's life otherwise
  host_.metrics().players.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(executor_, writer_.run(shared_from_this()), asio::detached);
  co_await read_loop();
  if (joined_) host_.leave(room_, shared_from_this());
  host_.metrics().players.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<void> RoomConnection::read_loop() {
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    auto [ec, n] = co_await ws_.async_read(buffer, use_nothrow);
    if (ec) {
      if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
        begin_close(static_cast<std::uint16_t>(websocket::close_code::too_big), "too_large", true);
      }
      writer_.end();
      break;
    }
    if (writer_.closing()) continue;
    if (!ws_.got_text()) {
      begin_close(static_cast<std::uint16_t>(websocket::close_code::unknown_data), "malformed", true);
      continue;
    }
    auto data = buffer.cdata();
    co_await handle(std::string_view(static_cast<char const*>(data.data()), data.size()));
  }
}

asio::awaitable<void> RoomConnection::handle(std::string_view text) {
  if (!rate_.take(now_ms())) {
    begin_close(static_cast<std::uint16_t>(websocket::close_code::policy_error), "rate_limited", true);
    co_return;
  }
  ClientMessage message = parse_client_message(text);
  if (auto const* bad = std::get_if<BadMessage>(&message)) {
    auto code = *bad == BadMessage::malformed ? websocket::close_code::bad_payload : websocket::close_code::unknown_data;
    begin_close(static_cast<std::uint16_t>(code), std::string(to_string(*bad)), true);
    co_return;
  }
  if (std::holds_alternative<JoinMessage>(message)) {
    if (joined_) {
      enqueue(encode_refused(0, Refusal::already_joined, 0));
      co_return;
    }
    std::string room = room_;  // named: no temporaries inside co_await (g++ 12)
    std::string player = player_;
    std::shared_ptr<Seat> seat = shared_from_this();
    TurnResult result = co_await host_.join(std::move(room), std::move(player), std::move(seat));
    if (result.outcome == Outcome::accepted) joined_ = true;
    co_await answer(result, 0);
    co_return;
  }
  Move move = std::get<MoveMessage>(message).move;
  if (!joined_) {
    enqueue(encode_refused(move.seq, Refusal::not_in_room, 0));
    co_return;
  }
  std::string room = room_;
  std::string player = player_;
  TurnResult result = co_await host_.move(std::move(room), std::move(player), move);
  co_await answer(result, move.seq);
}

asio::awaitable<void> RoomConnection::answer(TurnResult result, std::int64_t seq) {
  switch (result.outcome) {
    case Outcome::accepted: break;  // the room delivered the welcome, or the move's broadcast
    case Outcome::refused:
      if (result.refusal == Refusal::room_full) joined_ = false;
      enqueue(encode_refused(seq, result.refusal, result.expected));
      break;
    case Outcome::moved: begin_close(1012, "owner_moved", false); break;
    case Outcome::unavailable: begin_close(1013, "store_unavailable", false); break;
  }
  co_return;
}

void RoomConnection::enqueue(std::string frame) { deliver(std::make_shared<std::string const>(std::move(frame))); }

void RoomConnection::deliver(std::shared_ptr<std::string const> frame) {
  asio::post(executor_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
    if (!self->writer_.push(std::move(frame))) {
      self->begin_close(static_cast<std::uint16_t>(websocket::close_code::policy_error), "slow_consumer", true);
    }
  });
}

void RoomConnection::evict(std::uint16_t code, std::string reason) {
  asio::post(executor_, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    self->joined_ = false;  // the room forgot this seat already
    self->begin_close(code, std::move(reason), false);
  });
}

void RoomConnection::begin_close(std::uint16_t code, std::string reason, bool drop_outbox) {
  writer_.begin_close(static_cast<websocket::close_code>(code), reason, drop_outbox, shared_from_this());
}

}  // namespace outboard::actors
