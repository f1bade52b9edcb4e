#include "realtime/connection.hpp"

#include "io/websocket_accept.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include <variant>

namespace outboard::realtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using core::use_nothrow;

namespace {

// A history read brings at most this many entries at once (and never more than half the outbox).
constexpr std::size_t kReplayBatch = 256;

CloseReason reason_for_read_error(beast::error_code ec) {
  if (ec == websocket::error::closed) return CloseReason::client;
  if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) return CloseReason::too_big;
  if (ec == websocket::error::bad_frame_payload) return CloseReason::invalid_payload;
  if (ec == beast::error::timeout) return CloseReason::idle;
  if (ec.category() == make_error_code(websocket::error::closed).category()) return CloseReason::protocol;
  return CloseReason::error;
}

}  // namespace

asio::awaitable<void> Connection::run(ThreadHub& hub, io::TakenConnection taken, http::Request request,
                                      std::string user) {
  // What the HTTP server read past the request: a client that sent its first frame without
  // waiting for the 101 loses nothing.
  auto leftover = taken.buffer.cdata();
  std::string early(static_cast<char const*>(leftover.data()), leftover.size());
  taken.buffer.clear();
  taken.buffer.shrink_to_fit();  // this frame lives as long as the connection
  auto self = std::make_shared<Connection>(hub, std::move(taken), std::move(user));
  co_await self->serve(std::move(request), std::move(early));
}

Connection::Connection(ThreadHub& hub, io::TakenConnection taken, std::string user)
    : hub_(hub),
      ws_(std::move(taken.socket)),
      user_(std::move(user)),
      id_(hub.next_connection_id()),
      resume_(hub.config().feed.keep_history),
      // A second's worth of messages may come at once (a reconnect rejoining its rooms).
      rate_(hub.config().limits.messages_per_second, 2.0 * hub.config().limits.messages_per_second),
      writer_(ws_, hub.config().outbound_queue, hub.config().close_grace) {}

asio::awaitable<void> Connection::serve(http::Request request, std::string early) {
  auto const& config = hub_.config();
  io::WebSocketOptions options;
  options.handshake_timeout = config.close_grace;
  options.idle_timeout = config.idle_timeout;
  options.max_message_bytes = config.limits.max_message_bytes;
  options.served_by = hub_.instance();
  if (!co_await io::accept_websocket(ws_, request, std::move(early), options)) co_return;

  // Held for hours by an idle connection otherwise: the upgrade's fields and its copy as text.
  request = http::Request{};

  auto& metrics = hub_.metrics();
  RealtimeMetrics::add(metrics.accepted);
  metrics.open.fetch_add(1, std::memory_order_relaxed);
  hub_.add(*this);
  enqueue(encode_hello(hub_.instance(), user_, config.limits));
  if (hub_.draining()) go_away();

  // The writer on its own (it keeps this object alive); the reader here. A parallel group of
  // the two would cost each idle connection two more coroutine frames.
  asio::co_spawn(hub_.executor(), writer_.run(shared_from_this()), asio::detached);
  co_await read_loop();

  hub_.remove(*this);
  for (auto const& [room, state] : rooms_) {
    std::string name = room;  // named: no temporaries inside co_await (g++ 12)
    std::string id = id_;
    (void)co_await hub_.presence().leave(std::move(name), std::move(id));
  }
  rooms_.clear();
  metrics.open.fetch_sub(1, std::memory_order_relaxed);
  RealtimeMetrics::add(metrics.closed[static_cast<std::size_t>(end_reason_.value_or(CloseReason::error))]);
}

asio::awaitable<void> Connection::read_loop() {
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    auto [ec, n] = co_await ws_.async_read(buffer, use_nothrow);
    if (ec) {
      finish(reason_for_read_error(ec));
      break;
    }
    if (writer_.closing()) continue;  // after a close frame went out, nothing is handled
    if (!ws_.got_text()) {
      begin_close(websocket::close_code::unknown_data, "binary frames are not supported", CloseReason::unsupported_data,
                  true);
      continue;
    }
    auto data = buffer.cdata();
    std::string_view text(static_cast<char const*>(data.data()), data.size());
    co_await handle(text);
  }
}

void Connection::finish(CloseReason reason) {
  if (!end_reason_) end_reason_ = reason;
  writer_.end();
}

asio::awaitable<void> Connection::handle(std::string_view text) {
  RealtimeMetrics::add(hub_.metrics().received);
  DecodeLimits limits{hub_.config().limits.max_text_bytes};
  auto decoded = decode_client_message(text, limits);
  if (auto* error = std::get_if<DecodeError>(&decoded)) {
    if (error->fatal) {
      begin_close(websocket::close_code::bad_payload, error->detail, CloseReason::invalid_payload, true);
    } else {
      refuse(error->error == "unknown_type" ? Refusal::unknown_type : Refusal::bad_message, error->detail, error->room,
             error->id);
    }
    co_return;
  }
  if (!rate_.take(hub_.clock().now_ms())) {
    auto const& message = std::get<ClientMessage>(decoded);
    std::string_view id;
    if (auto* send = std::get_if<SendRequest>(&message)) id = send->id;
    std::string_view room = std::visit([](auto const& m) -> std::string_view { return m.room; }, message);
    refuse(Refusal::rate_limited, "over " + std::to_string(hub_.config().limits.messages_per_second) +
                                      " messages per second: resend later",
           room, id);
    co_return;
  }
  auto& message = std::get<ClientMessage>(decoded);
  if (auto* join_request = std::get_if<JoinRequest>(&message)) {
    co_await join(std::move(*join_request));
  } else if (auto* send_request = std::get_if<SendRequest>(&message)) {
    co_await send(std::move(*send_request));
  } else if (auto* presence_request = std::get_if<PresenceRequest>(&message)) {
    co_await presence(std::move(*presence_request));
  } else {
    leave(std::get<LeaveRequest>(message));
  }
}

// --- joining, leaving, sending ---

asio::awaitable<void> Connection::join(JoinRequest request) {
  std::string room = std::move(request.room);
  if (!may_enter(room, user_)) {
    refuse(Refusal::forbidden, "this room belongs to another user", room);
    co_return;
  }
  if (auto it = rooms_.find(room); it != rooms_.end()) {
    enqueue(encode_joined(room, it->second.cursor));  // already in: nothing changes
    co_return;
  }
  if (rooms_.size() >= static_cast<std::size_t>(hub_.config().limits.max_rooms)) {
    refuse(Refusal::too_many_rooms, "at most " + std::to_string(hub_.config().limits.max_rooms) + " rooms per connection",
           room);
    co_return;
  }
  Room& state = rooms_[room];
  state.generation = ++generations_;
  state.filling = true;  // live frames wait until the starting point is known
  std::uint64_t generation = state.generation;
  hub_.join(room, *this);  // heard from now on, before the history is read: nothing falls between
  {
    std::string name = room;
    std::string id = id_;
    std::string user = user_;
    if (auto entered = co_await hub_.presence().enter(std::move(name), std::move(id), std::move(user)); !entered) {
      spdlog::debug("presence not recorded: {}", entered.error().describe());
    }
  }
  if (resume_ && request.since) {
    if (Room* current = room_of(room, generation)) current->cursor = *request.since;
    co_await replay(room, generation);
  } else {
    // Live from now: the starting point is the room's latest seq.
    std::string name = room;
    auto latest = co_await hub_.feed().read_after(std::move(name), 0, 0);
    Room* current = room_of(room, generation);
    if (!current) co_return;  // left meanwhile
    if (!latest) {
      rooms_.erase(room);
      hub_.leave(room, *this);
      refuse(Refusal::store_unavailable, "the room could not be joined: try again", room);
      co_return;
    }
    current->cursor = latest->last_seq;
  }
  Room* current = room_of(room, generation);
  if (!current || writer_.ended()) co_return;
  enqueue(encode_joined(room, current->cursor));
  end_fill(room);
}

void Connection::leave(LeaveRequest const& request) {
  if (rooms_.erase(request.room) == 0) {
    refuse(Refusal::not_joined, "this connection is not in the room", request.room);
    return;
  }
  hub_.leave(request.room, *this);
  enqueue(encode_left(request.room));
  asio::co_spawn(
      hub_.executor(),
      [self = shared_from_this(), room = request.room]() -> asio::awaitable<void> {
        std::string name = room;
        std::string id = self->id_;
        (void)co_await self->hub_.presence().leave(std::move(name), std::move(id));
      },
      asio::detached);
}

asio::awaitable<void> Connection::send(SendRequest request) {
  if (!rooms_.contains(request.room)) {
    refuse(Refusal::not_joined, "join the room before sending to it", request.room, request.id);
    co_return;
  }
  std::string body = encode_stored_message(request.id, user_, hub_.clock().now_ms(), request.text);
  // Scoped to the sender: two users may pick the same id. Without history there is no dedupe.
  std::string dedupe = resume_ ? user_ + "\n" + request.id : std::string();
  std::string room = request.room;
  auto appended = co_await hub_.feed().append(std::move(room), std::move(body), std::move(dedupe));
  if (!appended) {
    refuse(Refusal::store_unavailable, "the message was not stored: resend it with the same id", request.room,
           request.id);
    co_return;
  }
  if (!appended->duplicate) RealtimeMetrics::add(hub_.metrics().stored);
  enqueue(encode_sent(request.room, request.id, appended->seq, appended->duplicate));
}

asio::awaitable<void> Connection::presence(PresenceRequest request) {
  if (!may_enter(request.room, user_)) {
    refuse(Refusal::forbidden, "this room belongs to another user", request.room);
    co_return;
  }
  std::string room = request.room;
  auto members = co_await hub_.presence().members(std::move(room));
  if (!members) {
    refuse(Refusal::store_unavailable, "presence could not be read: try again", request.room);
    co_return;
  }
  enqueue(encode_presence(request.room, *members));
}

// --- the cursor rule and the history ---

Connection::Room* Connection::room_of(std::string const& room, std::uint64_t generation) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.generation != generation) return nullptr;
  return &it->second;
}

void Connection::on_frames(std::string const& room, std::vector<Frame> const& frames) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  for (auto const& frame : frames) apply(room, it->second, frame);
}

void Connection::apply(std::string const& room, Room& state, Frame const& frame) {
  if (state.filling) {
    if (state.stash.size() < hub_.config().outbound_queue) {
      state.stash.push_back(frame);
    } else {
      state.recheck_pending = true;  // too many waiting: the next read of the history brings them
    }
    return;
  }
  if (frame.seq <= state.cursor) return;  // delivered already
  // Without history (the pubsub design) a gap cannot be filled: what was missed is gone.
  if (frame.seq == state.cursor + 1 || !resume_) {
    state.cursor = frame.seq;
    RealtimeMetrics::add(hub_.metrics().delivered);
    enqueue(frame.text);
    return;
  }
  state.stash.push_back(frame);
  start_fill(room);
}

void Connection::recheck(std::string const& room) {
  if (!resume_) return;
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  if (it->second.filling) {
    it->second.recheck_pending = true;
  } else {
    start_fill(room);
  }
}

void Connection::start_fill(std::string const& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || writer_.ended()) return;
  it->second.filling = true;
  asio::co_spawn(hub_.executor(), fill(shared_from_this(), room, it->second.generation), asio::detached);
}

asio::awaitable<void> Connection::fill(std::shared_ptr<Connection> self, std::string room, std::uint64_t generation) {
  co_await self->replay(room, generation);
  if (self->room_of(room, generation)) self->end_fill(room);
}

asio::awaitable<void> Connection::replay(std::string const& room, std::uint64_t generation) {
  std::size_t batch = std::max<std::size_t>(1, std::min(kReplayBatch, hub_.config().outbound_queue / 2));
  for (;;) {
    co_await writer_.wait_for_space();  // a replay is paced by what the client reads
    Room* state = room_of(room, generation);
    if (!state || writer_.ended() || writer_.closing()) co_return;
    std::int64_t after = state->cursor;
    std::string name = room;
    auto history = co_await hub_.feed().read_after(std::move(name), after, batch);
    state = room_of(room, generation);
    if (!state || writer_.ended() || writer_.closing()) co_return;
    if (!history) {
      // The store is away: wait a moment and read again (the client keeps what it has).
      asio::steady_timer pause(hub_.executor(), std::chrono::milliseconds(250));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    auto& entries = history->entries;
    bool restarted = history->last_seq < after;  // the room's log was lost (expired, or a store without persistence)
    if (restarted) after = 0;
    std::int64_t oldest = entries.empty() ? history->last_seq + 1 : entries.front().seq;
    if ((history->truncated || restarted) && oldest > after + 1) {
      RealtimeMetrics::add(hub_.metrics().truncated);
      enqueue(encode_history_truncated(room, state->cursor, oldest, history->last_seq));
      state->cursor = oldest - 1;
    } else if (restarted) {
      state->cursor = 0;
    }
    for (auto const& entry : entries) {
      if (entry.seq <= state->cursor) continue;
      auto text = encode_delivery(room, entry.seq, entry.body);
      state->cursor = entry.seq;
      if (!text) continue;
      RealtimeMetrics::add(hub_.metrics().delivered);
      RealtimeMetrics::add(hub_.metrics().replayed);
      enqueue(std::move(*text));
    }
    if (entries.size() < batch) {
      // Caught up with the room as the feed saw it. Entries it said exist but did not return
      // (expired between two reads) are not waited for.
      if (history->last_seq > state->cursor && entries.empty()) state->cursor = history->last_seq;
      co_return;
    }
  }
}

void Connection::end_fill(std::string const& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  Room& state = it->second;
  state.filling = false;
  auto stash = std::move(state.stash);
  state.stash.clear();
  bool again = state.recheck_pending;
  state.recheck_pending = false;
  for (auto const& frame : stash) apply(room, state, frame);
  if (again && !state.filling && resume_) start_fill(room);
}

// --- the outbox and closing ---

void Connection::enqueue(Shared frame) {
  if (!writer_.push(std::move(frame))) {
    begin_close(websocket::close_code::policy_error, "slow consumer: too many messages waiting",
                CloseReason::slow_consumer, true);
  }
}

void Connection::refuse(Refusal why, std::string detail, std::string_view room, std::string_view id) {
  RealtimeMetrics::add(hub_.metrics().refused[static_cast<std::size_t>(why)]);
  enqueue(encode_error(to_string(why), detail, room, id));
}

void Connection::go_away() { begin_close(websocket::close_code::going_away, "server going away", CloseReason::drain, false); }

void Connection::begin_close(websocket::close_code code, std::string reason, CloseReason why, bool drop_outbox) {
  if (writer_.begin_close(code, reason, drop_outbox, shared_from_this())) end_reason_ = why;
}

}  // namespace outboard::realtime
