#pragma once
// The game journey (docs/ACTORS.md's protocol): a player that logs in like the other users, opens
// `GET /rooms/{room}` through the gateway, joins, waits for its welcome and makes one move per
// think time (seq = the room's record + 1, a random cell), each awaited until its
// acknowledgement or refusal. Its room is fixed by its index: players_per_room players share
// `game-0`, the next ones `game-1`, ... Whenever its connection ends (a close frame, a drop, an
// answer that did not come in time) it backs off, reconnects and rejoins; a 503 on the upgrade
// (owner_unavailable, store_unavailable) is retried after a backoff, a 401 logs in again. After
// the run, it rejoins once more (the final audit: through the next gateway when there are
// several) and closes. Everything it is told goes into the run's GameLedger.
//
// Two coroutines per connection: the player (every write, and every decision) and a reader
// (every frame in: it fills the connection's state and wakes the player).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lab/chat_client.hpp"
#include "lab/game_ledger.hpp"
#include "lab/run_stats.hpp"
#include "lab/virtual_user.hpp"

namespace outboard::lab {

struct GameSettings {
  std::uint16_t gateway_port = 0;
  // Every gateway's port (`lab --gateways N`): player i starts on gateway i % N and moves to the
  // next when its own refuses the connection. Empty: gateway_port.
  std::vector<std::uint16_t> gateway_ports;
  std::string room_prefix = "game-";  // room k is room_prefix + k (unique per run and mode)
  int players_per_room = 4;
  std::chrono::milliseconds think_min{150};
  std::chrono::milliseconds think_max{400};
  std::chrono::milliseconds backoff_min{50};  // before a reconnect
  std::chrono::milliseconds backoff_max{300};
  std::chrono::milliseconds upgrade_timeout{5000};
  // A welcome or a move's answer that has not come within this ends the connection (a frozen
  // owner, a forward to a dead one): the player reconnects.
  std::chrono::milliseconds answer_timeout{3000};
  // The final audit keeps trying (a room whose owner just died is owner_unavailable until its
  // lease expires) for at most this long.
  std::chrono::milliseconds audit_bound{20000};
};

// The room of player `index`: room_prefix + index / players_per_room.
std::string game_room(GameSettings const& settings, int index);

class GameUser {
 public:
  GameUser(boost::asio::any_io_executor executor, int index, GameSettings const& settings, GameLedger& ledger,
           RunStats& stats, StopFlag const& stop, ChatLogin login, std::uint64_t seed);

  // Plays until the run stops, then audits its room once and goes.
  boost::asio::awaitable<void> run();
  // The run failed: end the connection and the audit now (not after its bound).
  void abandon();

 private:
  struct Connection {
    explicit Connection(boost::asio::any_io_executor executor) : client(executor), wake(executor) {}
    ChatClient client;
    boost::asio::steady_timer wake;  // the player's waits; cancelled by every answer and the end
    bool dead = false;
    bool closing = false;  // ended by us: not a drop
    bool reader_done = false;
    bool welcomed = false;
    std::string close_reason;  // why it ended, when it was not us: "1012", "dropped", ...
  };
  // The answer to the move in flight.
  enum class Answer { none, acknowledged, refused };

  // Logs in and opens the room's WebSocket, retrying with backoff while keep_trying(); null when
  // it stopped trying.
  boost::asio::awaitable<std::shared_ptr<Connection>> connect();
  // Playing: until the run stops. Auditing: until the audit's bound. Never once abandoned.
  bool keep_trying() const;
  boost::asio::awaitable<void> read_frames(std::shared_ptr<Connection> conn);
  void on_frame(Connection& conn, std::string const& text);
  void on_moved(Connection& conn, std::string const& player, std::int64_t seq, std::string const& activation,
                std::int64_t at_us);
  void on_refused(Connection& conn, std::string const& reason, std::optional<std::int64_t> expected);
  // Joins and waits for the welcome; false when the connection ended or no welcome came in time.
  boost::asio::awaitable<bool> join(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> play(std::shared_ptr<Connection> conn);
  // One move, awaited until its answer; false when the connection ended or the answer never came.
  boost::asio::awaitable<bool> move(std::shared_ptr<Connection> conn);
  // Waits on the connection until `done()` or the deadline or the connection's end.
  template <typename Done>
  boost::asio::awaitable<void> wait_for(std::shared_ptr<Connection> conn, std::int64_t deadline_ms, Done done);
  boost::asio::awaitable<void> audit();
  boost::asio::awaitable<bool> write(std::shared_ptr<Connection> conn, std::string text);
  // The connection ended without us ending it: a drop for the ledger, once, with this reason.
  void end_of(Connection& conn, std::string const& why);
  // Ends a connection the player gave up on (no answer in time, a join refused): a drop too.
  void give_up(Connection& conn, std::string const& why);
  boost::asio::awaitable<void> end_connection(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> pause(std::chrono::milliseconds how_long);
  std::chrono::milliseconds random_ms(std::chrono::milliseconds lo, std::chrono::milliseconds hi);

  boost::asio::any_io_executor executor_;
  int index_;
  GameSettings const& settings_;
  GameLedger& ledger_;
  RunStats& stats_;
  StopFlag const& stop_;
  GatewayDialer dialer_;
  std::mt19937_64 rng_;
  std::string room_;

  std::string me_;             // the player id the room names us by (`welcome`)
  std::int64_t next_seq_ = 1;  // the room's record + 1
  std::int64_t in_flight_ = 0;  // the seq of the move awaiting its answer (0: none)
  Answer answer_ = Answer::none;
  bool auditing_ = false;
  std::int64_t audit_deadline_ms_ = 0;
  bool audited_ = false;
  bool last_dropped_ = false;  // the last connection ended without us: the next one is a reconnect
  bool abandoned_ = false;
  std::shared_ptr<Connection> current_;  // for abandon()
};

}  // namespace outboard::lab
