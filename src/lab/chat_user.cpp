#include "lab/chat_user.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kSettlePoll = 20ms;  // while the run settles: resend and read, nothing new

// A field as text: the server may name users by number or by string.
std::string text_of(json const& doc, char const* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::int64_t int_of(json const& doc, char const* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

template <typename T>
T pick(std::vector<T> const& from, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> any(0, from.size() - 1);
  return from[any(rng)];
}

}  // namespace

ChatUser::ChatUser(asio::any_io_executor executor, int index, ChatSettings const& settings, ChatLedger& ledger,
                   RunStats& stats, StopFlag const& stop, ChatLogin login, std::uint64_t seed)
    : executor_(std::move(executor)),
      index_(index),
      settings_(settings),
      ledger_(ledger),
      stats_(stats),
      stop_(stop),
      dialer_(index, settings.gateway_port, settings.gateway_ports, std::move(login), stats),
      rng_(seed) {}

std::chrono::milliseconds ChatUser::random_ms(std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
  std::uniform_int_distribution<std::int64_t> any(lo.count(), std::max(lo.count(), hi.count()));
  return std::chrono::milliseconds(any(rng_));
}

bool ChatUser::talking() const {
  return !stop_.stopping && (settings_.session_actions == 0 || actions_ < settings_.session_actions);
}

asio::awaitable<void> ChatUser::pause(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(executor_, how_long);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> ChatUser::wait(std::shared_ptr<Connection> conn, std::chrono::milliseconds how_long) {
  if (conn->dead) co_return;
  conn->wake.expires_after(how_long);
  co_await conn->wake.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> ChatUser::run() {
  std::vector<std::string> pool = settings_.rooms;
  std::shuffle(pool.begin(), pool.end(), rng_);
  std::uniform_int_distribution<int> how_many(settings_.rooms_min, settings_.rooms_max);
  auto count = std::min<std::size_t>(pool.size(), static_cast<std::size_t>(how_many(rng_)));
  rooms_.insert(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(count));
  while (!stop_.chat_closing && !finished_) {
    auto conn = co_await connect();
    if (!conn) break;
    co_await talk(conn);
    bool ours = !conn->dead;
    co_await end_connection(conn, ours);
    if (!ours) co_await pause(random_ms(settings_.backoff_min, settings_.backoff_max));
  }
}

asio::awaitable<std::shared_ptr<ChatUser::Connection>> ChatUser::connect() {
  // Named, every argument: g++ 12 mishandles temporaries inside a co_await expression.
  std::string path = "/ws";
  std::string what = "GET /ws";
  auto keep_trying = [this] { return !stop_.chat_closing; };
  auto backoff = [this] { return random_ms(settings_.backoff_min, settings_.backoff_max); };
  auto conn = co_await dialer_.dial<Connection>(executor_, path, what, settings_.upgrade_timeout, keep_trying, backoff);
  if (!conn) co_return nullptr;
  ledger_.count_connect(connected_before_);
  connected_before_ = true;
  asio::co_spawn(executor_, read_frames(conn), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);  // a bug in the lab itself: let it surface
  });
  co_return conn;
}

asio::awaitable<void> ChatUser::read_frames(std::shared_ptr<Connection> conn) {
  for (;;) {
    Frame frame = co_await conn->client.read();
    if (!frame.ok) {
      if (!conn->closing) ledger_.count_close(frame.end_reason());
      conn->dead = true;
      conn->wake.cancel();
      break;
    }
    on_frame(*conn, frame.text);
  }
  conn->reader_done = true;
}

void ChatUser::on_frame(Connection& conn, std::string const& text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) {
    stats_.record_unexpected("chat: a frame that is not a JSON object");
    return;
  }
  std::string type = text_of(doc, "type");
  std::string room = text_of(doc, "room");
  std::int64_t now = lab_now_ms();
  if (type == "hello") {
    me_ = text_of(doc, "user");
  } else if (type == "joined") {
    if (!rooms_.contains(room)) {  // left before the join's answer came: the leave will succeed
      conn.left_unjoined.erase(room);
      return;
    }
    conn.joined.insert(room);
    ledger_.joined(index_, room, now);
    last_seq_[room] = std::max(last_seq_[room], int_of(doc, "seq"));
  } else if (type == "message") {
    std::int64_t seq = int_of(doc, "seq");
    ledger_.received(index_, room, text_of(doc, "from"), text_of(doc, "id"), seq, now);
    if (rooms_.contains(room)) last_seq_[room] = std::max(last_seq_[room], seq);
  } else if (type == "sent") {
    auto it = pending_.find(text_of(doc, "id"));
    if (it == pending_.end()) return;  // a second answer to a resend: the first one counted
    ledger_.acknowledged(it->second.room, me_, it->first, int_of(doc, "seq"), it->second.first_send_ms, now);
    pending_.erase(it);
  } else if (type == "history_truncated") {
    ledger_.history_truncated(index_, room, int_of(doc, "since"), int_of(doc, "oldest"));
  } else if (type == "error") {
    on_error(conn, text_of(doc, "error"), room, text_of(doc, "id"));
  } else if (type != "left" && type != "presence") {
    stats_.record_unexpected("chat: a frame of unknown type " + type);
  }
}

void ChatUser::on_error(Connection& conn, std::string const& error, std::string const& room, std::string const& id) {
  // Not stored, "resend later with the same id" (docs/REALTIME.md); anything else is a refusal
  // an honest client should never meet.
  // A resend that overtook the rejoin of a room whose join was refused (store_unavailable, a
  // store restart) meets not_joined: honest too; the room is joined again, then the resend goes.
  bool rejoining = error == "not_joined" && rooms_.contains(room) && !conn.joined.contains(room);
  // The leave of a room whose join the server had refused (leave_all at a visit's end): honest.
  bool left_unjoined = error == "not_joined" && id.empty() && conn.left_unjoined.erase(room) > 0;
  bool later = error == "rate_limited" || error == "store_unavailable" || rejoining || left_unjoined;
  if (!later) stats_.record_unexpected("chat: error " + error);
  auto when = lab_now_ms() + random_ms(100ms, 300ms).count();
  if (rejoining) join_again_[room] = when;
  if (auto it = pending_.find(id); !id.empty() && it != pending_.end()) {
    it->second.needs_send = true;
    it->second.not_before_ms = when;
  } else if (id.empty() && rooms_.contains(room) && !conn.joined.contains(room)) {
    join_again_[room] = when;  // a join refused for now
  }
}

asio::awaitable<bool> ChatUser::write(std::shared_ptr<Connection> conn, std::string text) {
  if (conn->dead) co_return false;
  bool ok = co_await conn->client.write(std::move(text));
  if (!ok) {
    conn->dead = true;
    conn->client.drop();  // the reader ends too
  }
  co_return ok;
}

asio::awaitable<bool> ChatUser::join(std::shared_ptr<Connection> conn, std::string room) {
  rooms_.insert(room);
  join_again_.erase(room);
  json frame{{"type", "join"}, {"room", room}};
  // A rejoin asks for everything after the last message seen there; a first join, live only.
  if (auto seen = last_seq_.find(room); seen != last_seq_.end()) frame["since"] = seen->second;
  co_return co_await write(conn, frame.dump());
}

asio::awaitable<bool> ChatUser::catch_up(std::shared_ptr<Connection> conn, std::string room) {
  auto deadline = lab_now_ms() + settings_.catch_up_bound.count();
  for (;;) {
    if (ledger_.caught_up(index_, room)) co_return true;
    if (conn->dead || lab_now_ms() >= deadline) co_return false;
    co_await pause(kSettlePoll);
  }
}

asio::awaitable<bool> ChatUser::leave(std::shared_ptr<Connection> conn, std::string room, bool even_behind) {
  bool caught_up = co_await catch_up(conn, room);
  if (conn->dead || (!caught_up && !even_behind)) co_return false;
  // The membership ends when the leave is sent: what was in flight then is owed no more. Checked
  // again here, with no suspension before the leave is recorded, so that no acknowledgement read
  // in between can slip into the membership unseen.
  if (!even_behind && !ledger_.caught_up(index_, room)) co_return false;
  ledger_.leaving(index_, room, lab_now_ms());
  rooms_.erase(room);
  join_again_.erase(room);
  if (conn->joined.erase(room) == 0) conn->left_unjoined.insert(room);
  last_seq_.erase(room);
  json frame{{"type", "leave"}, {"room", room}};
  co_return co_await write(conn, frame.dump());
}

asio::awaitable<void> ChatUser::talk(std::shared_ptr<Connection> conn) {
  // Rejoin every room (with `since` where a message or a join was seen), and resend whatever
  // was never acknowledged, with the same id, once its room is joined again.
  std::vector<std::string> rooms(rooms_.begin(), rooms_.end());
  for (auto const& room : rooms) co_await join(conn, room);
  for (auto& [id, p] : pending_) p.needs_send = true;
  while (!conn->dead && !stop_.chat_closing) {
    co_await retry_joins(conn);
    co_await resend_due(conn);
    if (talking()) {
      co_await act(conn);
      co_await wait(conn, random_ms(settings_.think_min, settings_.think_max));
    } else if (settings_.session_actions > 0 && !stop_.stopping) {
      co_await leave_all(conn);  // the open loop's user is done
      finished_ = true;
      co_return;
    } else {
      co_await wait(conn, kSettlePoll);  // the run settles: read, resend, nothing new
    }
  }
}

asio::awaitable<void> ChatUser::retry_joins(std::shared_ptr<Connection> conn) {
  std::int64_t now = lab_now_ms();
  std::vector<std::string> due;
  for (auto const& [room, when] : join_again_) {
    if (when <= now) due.push_back(room);
  }
  for (auto const& room : due) co_await join(conn, room);
}

asio::awaitable<void> ChatUser::leave_all(std::shared_ptr<Connection> conn) {
  auto deadline = lab_now_ms() + settings_.catch_up_bound.count();
  while (!pending_.empty() && !conn->dead && lab_now_ms() < deadline) {
    co_await resend_due(conn);
    co_await wait(conn, kSettlePoll);
  }
  std::vector<std::string> rooms(rooms_.begin(), rooms_.end());
  // The visit is over: it goes, caught up or not (what it is still owed is then lost or late).
  for (auto const& room : rooms) co_await leave(conn, room, true);
}

asio::awaitable<void> ChatUser::act(std::shared_ptr<Connection> conn) {
  ++actions_;
  std::uniform_int_distribution<int> one_in(1, std::max(1, settings_.switch_one_in));
  if (one_in(rng_) == 1) {
    co_await switch_room(conn);
  } else {
    co_await send_new(conn);
  }
}

asio::awaitable<void> ChatUser::send_new(std::shared_ptr<Connection> conn) {
  std::vector<std::string> open;
  for (auto const& room : rooms_) {
    if (conn->joined.contains(room)) open.push_back(room);
  }
  if (open.empty()) co_return;  // no `joined` yet on this connection
  std::string room = pick(open, rng_);
  std::string id = fmt::format("m{}", ++messages_);
  std::string text = fmt::format("message {} from user {}", messages_, index_);
  pending_[id] = Pending{room, text, lab_now_ms(), false, 0};
  ledger_.count_send();
  json frame{{"type", "send"}, {"room", room}, {"id", id}, {"text", text}};
  co_await write(conn, frame.dump());
}

asio::awaitable<void> ChatUser::resend_due(std::shared_ptr<Connection> conn) {
  // Ids first: an acknowledgement read while a write is on its way erases from pending_.
  std::int64_t now = lab_now_ms();
  std::vector<std::string> due;
  for (auto const& [id, p] : pending_) {
    if (p.needs_send && p.not_before_ms <= now && conn->joined.contains(p.room)) due.push_back(id);
  }
  for (auto const& id : due) {
    auto it = pending_.find(id);
    if (it == pending_.end() || conn->dead) continue;
    it->second.needs_send = false;
    ledger_.count_resend();
    json frame{{"type", "send"}, {"room", it->second.room}, {"id", id}, {"text", it->second.text}};
    co_await write(conn, frame.dump());
  }
}

asio::awaitable<void> ChatUser::switch_room(std::shared_ptr<Connection> conn) {
  // Leave a joined room with no message of ours still unacknowledged in it (a send in a room
  // left could never be resent), for one this user is not in.
  std::vector<std::string> leavable;
  for (auto const& room : rooms_) {
    bool ours_pending = std::any_of(pending_.begin(), pending_.end(), [&](auto const& p) { return p.second.room == room; });
    if (conn->joined.contains(room) && !ours_pending) leavable.push_back(room);
  }
  std::vector<std::string> others;
  for (auto const& room : settings_.rooms) {
    if (!rooms_.contains(room)) others.push_back(room);
  }
  if (rooms_.size() < 2 || leavable.empty() || others.empty()) {
    co_await send_new(conn);
    co_return;
  }
  std::string out = pick(leavable, rng_);
  std::string in = pick(others, rng_);
  // Still owed something there (a frozen server, a slow fan-out): it stays, and talks instead.
  if (!co_await leave(conn, out, false)) {
    co_await send_new(conn);
    co_return;
  }
  co_await join(conn, in);
}

asio::awaitable<void> ChatUser::end_connection(std::shared_ptr<Connection> conn, bool gracefully) {
  conn->closing = true;
  if (gracefully && !conn->dead) {
    co_await conn->client.close();
  } else {
    conn->client.drop();
  }
  while (!conn->reader_done) co_await pause(5ms);
}

}  // namespace outboard::lab
