#include "lab/game_user.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kGridSide = 16;  // the paint game's grid (docs/ACTORS.md)

// A field as text: ids (players, activations) may come as numbers, strings or objects; equal
// values give equal text, which is all the ledger needs of them.
std::string id_of(json const& doc, char const* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::optional<std::int64_t> number_of(json const& doc, char const* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

// Refusals an honest player can meet while servers come and go; any other is a server's bug.
bool honest_refusal(std::string const& reason) {
  return reason == "out_of_order" || reason == "not_in_room" || reason == "room_full" || reason == "already_joined";
}

}  // namespace

std::string game_room(GameSettings const& settings, int index) {
  return settings.room_prefix + std::to_string(index / std::max(1, settings.players_per_room));
}

GameUser::GameUser(asio::any_io_executor executor, int index, GameSettings const& settings, GameLedger& ledger,
                   RunStats& stats, StopFlag const& stop, ChatLogin login, std::uint64_t seed)
    : executor_(std::move(executor)),
      index_(index),
      settings_(settings),
      ledger_(ledger),
      stats_(stats),
      stop_(stop),
      dialer_(index, settings.gateway_port, settings.gateway_ports, std::move(login), stats),
      rng_(seed),
      room_(game_room(settings, index)) {}

std::chrono::milliseconds GameUser::random_ms(std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
  std::uniform_int_distribution<std::int64_t> any(lo.count(), std::max(lo.count(), hi.count()));
  return std::chrono::milliseconds(any(rng_));
}

bool GameUser::keep_trying() const {
  if (abandoned_) return false;
  return auditing_ ? lab_now_ms() < audit_deadline_ms_ : !stop_.stopping;
}

asio::awaitable<void> GameUser::pause(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(executor_, how_long);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void GameUser::abandon() {
  abandoned_ = true;
  if (!current_) return;
  current_->closing = true;
  current_->client.drop();  // the reader ends, and with it every wait on the connection
}

asio::awaitable<void> GameUser::run() {
  while (keep_trying()) {
    auto conn = co_await connect();
    if (!conn) break;
    co_await play(conn);
    last_dropped_ = !conn->close_reason.empty();
    co_await end_connection(conn);
    if (last_dropped_) co_await pause(random_ms(settings_.backoff_min, settings_.backoff_max));
  }
  if (!abandoned_) co_await audit();
}

asio::awaitable<void> GameUser::audit() {
  auditing_ = true;
  audit_deadline_ms_ = lab_now_ms() + settings_.audit_bound.count();
  // Through another gateway when there are several: the room must be the same from anywhere.
  dialer_.next_gateway();
  while (!audited_ && keep_trying()) {
    auto conn = co_await connect();
    if (!conn) break;
    co_await join(conn);
    last_dropped_ = !conn->close_reason.empty();
    co_await end_connection(conn);
    if (!audited_) co_await pause(random_ms(settings_.backoff_min, settings_.backoff_max));
  }
  if (!audited_ && !abandoned_) {
    ledger_.audit_missing();
    stats_.record_unexpected("game: no welcome at the final audit");
  }
}

asio::awaitable<std::shared_ptr<GameUser::Connection>> GameUser::connect() {
  // 503 (owner_unavailable: the owner is gone and its lease not expired yet; store_unavailable)
  // and a dead gateway are tried again after the backoff; a 401 logs in again first. Named, every
  // argument: g++ 12 mishandles temporaries inside a co_await expression.
  std::string path = "/rooms/" + room_;
  std::string what = "GET /rooms/{id}";
  auto keep = [this] { return keep_trying(); };
  auto backoff = [this] { return random_ms(settings_.backoff_min, settings_.backoff_max); };
  auto conn = co_await dialer_.dial<Connection>(executor_, path, what, settings_.upgrade_timeout, keep, backoff);
  if (!conn) co_return nullptr;
  ledger_.count_connect(last_dropped_);
  current_ = conn;
  asio::co_spawn(executor_, read_frames(conn), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);  // a bug in the lab itself: let it surface
  });
  co_return conn;
}

asio::awaitable<void> GameUser::read_frames(std::shared_ptr<Connection> conn) {
  for (;;) {
    Frame frame = co_await conn->client.read();
    if (!frame.ok) {
      if (!conn->closing) end_of(*conn, frame.end_reason());
      conn->dead = true;
      conn->wake.cancel();
      break;
    }
    on_frame(*conn, frame.text);
  }
  conn->reader_done = true;
}

void GameUser::end_of(Connection& conn, std::string const& why) {
  if (!conn.close_reason.empty()) return;
  conn.close_reason = why;
  ledger_.dropped(index_, why, lab_now_ms());
}

void GameUser::give_up(Connection& conn, std::string const& why) {
  end_of(conn, why);
  conn.dead = true;
  conn.client.drop();  // the reader ends too
  conn.wake.cancel();
}

void GameUser::on_frame(Connection& conn, std::string const& text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) {
    stats_.record_unexpected("game: a frame that is not a JSON object");
    return;
  }
  std::string type = id_of(doc, "type");
  if (type == "welcome") {
    me_ = id_of(doc, "player");
    std::int64_t last_seq = number_of(doc, "last_seq").value_or(0);
    ledger_.welcomed(index_, room_, last_seq, lab_now_ms(), auditing_);
    next_seq_ = last_seq + 1;
    conn.welcomed = true;
    if (auditing_) audited_ = true;
    conn.wake.cancel();
  } else if (type == "moved") {
    on_moved(conn, id_of(doc, "player"), number_of(doc, "seq").value_or(0), id_of(doc, "activation"),
             number_of(doc, "at_us").value_or(0));
  } else if (type == "refused") {
    on_refused(conn, id_of(doc, "reason"), number_of(doc, "expected"));
  } else {
    stats_.record_unexpected("game: a frame of unknown type " + type);
  }
}

void GameUser::on_moved(Connection& conn, std::string const& player, std::int64_t seq, std::string const& activation,
                        std::int64_t at_us) {
  ledger_.accepted(room_, activation, at_us);
  if (me_.empty() || player != me_) return;  // another player's move: only the room's activity
  ledger_.acknowledged(index_, room_, seq, lab_now_ms());
  if (seq != in_flight_) return;
  answer_ = Answer::acknowledged;
  next_seq_ = seq + 1;
  in_flight_ = 0;
  conn.wake.cancel();
}

void GameUser::on_refused(Connection& conn, std::string const& reason, std::optional<std::int64_t> expected) {
  ledger_.refused(reason);
  if (!honest_refusal(reason)) stats_.record_unexpected("game: refused " + reason);
  if (!conn.welcomed) {
    // The join refused (room_full, already_joined: a connection of ours the room has not seen
    // end yet): this connection is no use; the player comes back after a backoff.
    give_up(conn, "join refused: " + reason);
    return;
  }
  if (in_flight_ == 0) return;  // nothing of ours is waiting: a refusal we cannot place
  if (reason == "out_of_order" && expected) {
    // The room's record says where we are: what we saw acknowledged above it is gone.
    ledger_.resynced(index_, room_, *expected, lab_now_ms());
    next_seq_ = *expected;
  } else if (reason == "not_in_room") {
    give_up(conn, "not_in_room");  // the room forgot our join: rejoin on a new connection
  }
  answer_ = Answer::refused;
  in_flight_ = 0;
  conn.wake.cancel();
}

template <typename Done>
asio::awaitable<void> GameUser::wait_for(std::shared_ptr<Connection> conn, std::int64_t deadline_ms, Done done) {
  // No suspension between the check and the wait: the reader (the only one to cancel) cannot
  // slip in between, so no wake-up is missed.
  for (std::int64_t now = lab_now_ms(); !done() && !conn->dead && now < deadline_ms; now = lab_now_ms()) {
    conn->wake.expires_after(std::chrono::milliseconds(deadline_ms - now));
    co_await conn->wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<bool> GameUser::write(std::shared_ptr<Connection> conn, std::string text) {
  if (conn->dead) co_return false;
  bool ok = co_await conn->client.write(std::move(text));
  if (!ok && !conn->closing) give_up(*conn, "dropped");
  co_return ok;
}

asio::awaitable<bool> GameUser::join(std::shared_ptr<Connection> conn) {
  json frame{{"type", "join"}, {"game", "paint"}};
  std::string text = frame.dump();  // named, as every argument of a co_await here: g++ 12's temporaries
  if (!co_await write(conn, text)) co_return false;
  std::int64_t deadline = lab_now_ms() + settings_.answer_timeout.count();
  auto welcomed = [&conn] { return conn->welcomed; };
  co_await wait_for(conn, deadline, welcomed);
  if (conn->welcomed) co_return true;
  if (!conn->dead) give_up(*conn, "welcome_timeout");
  co_return false;
}

asio::awaitable<void> GameUser::play(std::shared_ptr<Connection> conn) {
  if (!co_await join(conn)) co_return;
  while (!conn->dead && !stop_.stopping && !abandoned_) {
    std::int64_t think_until = lab_now_ms() + random_ms(settings_.think_min, settings_.think_max).count();
    auto never = [] { return false; };  // only the connection's end cuts the pause short
    co_await wait_for(conn, think_until, never);
    if (conn->dead || stop_.stopping || abandoned_) break;
    if (!co_await move(conn)) break;
  }
}

asio::awaitable<bool> GameUser::move(std::shared_ptr<Connection> conn) {
  std::uniform_int_distribution<int> cell(0, kGridSide - 1);
  in_flight_ = next_seq_;
  answer_ = Answer::none;
  json frame{{"type", "move"}, {"seq", in_flight_}, {"x", cell(rng_)}, {"y", cell(rng_)}};
  ledger_.count_move();
  std::string text = frame.dump();
  if (!co_await write(conn, text)) {
    in_flight_ = 0;  // accepted or not: the next welcome's last_seq says
    co_return false;
  }
  std::int64_t deadline = lab_now_ms() + settings_.answer_timeout.count();
  auto answered = [this] { return answer_ != Answer::none; };
  co_await wait_for(conn, deadline, answered);
  if (answer_ != Answer::none) co_return !conn->dead;
  in_flight_ = 0;
  if (!conn->dead) give_up(*conn, "answer_timeout");
  co_return false;
}

asio::awaitable<void> GameUser::end_connection(std::shared_ptr<Connection> conn) {
  conn->closing = true;
  if (!conn->dead) {
    co_await conn->client.close();
  } else {
    conn->client.drop();
  }
  while (!conn->reader_done) co_await pause(5ms);
  if (current_ == conn) current_ = nullptr;
}

}  // namespace outboard::lab
