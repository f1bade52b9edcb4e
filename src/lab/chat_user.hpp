#pragma once
// The chat journey (docs/LAB.md): a virtual user that logs in like the others, opens `GET /ws`
// through the gateway, joins 2-3 rooms of the run's small pool, talks (one message per think
// time, each with its own client id), now and then leaves a room for another, and reconnects
// whenever its connection drops or is closed, rejoining each room with `since` = the last seq it
// saw there and resending every unacknowledged message with the same id. Everything it is told
// goes into the run's ChatLedger, which judges it at the end.
//
// Two coroutines per connection: the talker (joins, sends, leaves: every write) and a reader
// (every frame in, into the ledger). The talker owns the user's state; the reader only fills it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lab/chat_client.hpp"
#include "lab/chat_ledger.hpp"
#include "lab/run_stats.hpp"
#include "lab/virtual_user.hpp"

namespace outboard::lab {

struct ChatSettings {
  std::uint16_t gateway_port = 0;
  // `lab --gateways N`: every gateway's port; chat user i starts on gateway i % N and moves to the
  // next when its own refuses the connection, as the shop journey's users do. Empty: gateway_port.
  std::vector<std::uint16_t> gateway_ports;
  std::vector<std::string> rooms;  // the run's pool; every user joins a few of them
  int rooms_min = 2;
  int rooms_max = 3;
  std::chrono::milliseconds think_min{150};
  std::chrono::milliseconds think_max{400};
  std::chrono::milliseconds backoff_min{50};  // before a reconnect
  std::chrono::milliseconds backoff_max{300};
  std::chrono::milliseconds upgrade_timeout{5000};
  // Before a leave the user waits, at most this long, until it holds every message it is owed in
  // the room; if it does not by then, it stays (a delivery still on its way when the leave takes
  // effect would otherwise pass for a loss: a frozen server delivers late, not never).
  std::chrono::milliseconds catch_up_bound{1000};
  int switch_one_in = 15;    // one action in N leaves a room and joins another
  int session_actions = 0;   // > 0 (open loop): leave every room after this many actions and go
};

class ChatUser {
 public:
  ChatUser(boost::asio::any_io_executor executor, int index, ChatSettings const& settings, ChatLedger& ledger,
           RunStats& stats, StopFlag const& stop, ChatLogin login, std::uint64_t seed);

  // Talks until the run stops (or, open loop, until its session is over), then keeps its
  // connection through the settle phase (StopFlag::chat_closing) and closes it.
  boost::asio::awaitable<void> run();
  // Messages sent and not acknowledged yet: the settle phase waits for them (their
  // acknowledgement makes them owed to the room).
  bool has_pending() const { return !pending_.empty(); }

 private:
  struct Connection {
    explicit Connection(boost::asio::any_io_executor executor) : client(executor), wake(executor) {}
    ChatClient client;
    boost::asio::steady_timer wake;  // the talker's pause; cancelled when the connection ends
    bool dead = false;
    bool closing = false;  // ended by us: not counted among the drops and closes
    bool reader_done = false;
    std::set<std::string> joined;  // rooms whose `joined` arrived on this connection
    // Rooms left before their `joined` arrived (a join refused for now, to be redone): the
    // server may answer the leave with not_joined, which is then no surprise.
    std::set<std::string> left_unjoined;
  };
  struct Pending {
    std::string room;
    std::string text;
    std::int64_t first_send_ms = 0;
    bool needs_send = false;    // not written on the current connection yet
    std::int64_t not_before_ms = 0;
  };

  boost::asio::awaitable<std::shared_ptr<Connection>> connect();
  boost::asio::awaitable<void> read_frames(std::shared_ptr<Connection> conn);
  void on_frame(Connection& conn, std::string const& text);
  void on_error(Connection& conn, std::string const& error, std::string const& room, std::string const& id);
  boost::asio::awaitable<void> talk(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> act(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> send_new(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> resend_due(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> retry_joins(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> leave_all(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> switch_room(std::shared_ptr<Connection> conn);
  // Leaves once caught up in the room (or, `even_behind`, after the wait anyway); false when it
  // did not leave.
  boost::asio::awaitable<bool> leave(std::shared_ptr<Connection> conn, std::string room, bool even_behind);
  boost::asio::awaitable<bool> join(std::shared_ptr<Connection> conn, std::string room);
  boost::asio::awaitable<bool> write(std::shared_ptr<Connection> conn, std::string text);
  boost::asio::awaitable<void> wait(std::shared_ptr<Connection> conn, std::chrono::milliseconds how_long);
  boost::asio::awaitable<void> pause(std::chrono::milliseconds how_long);
  // Waits, bounded, until the ledger says this user holds every message it is owed in `room`;
  // false when it does not by then.
  boost::asio::awaitable<bool> catch_up(std::shared_ptr<Connection> conn, std::string room);
  boost::asio::awaitable<void> end_connection(std::shared_ptr<Connection> conn, bool gracefully);
  bool talking() const;
  std::chrono::milliseconds random_ms(std::chrono::milliseconds lo, std::chrono::milliseconds hi);

  boost::asio::any_io_executor executor_;
  int index_;
  ChatSettings const& settings_;
  ChatLedger& ledger_;
  RunStats& stats_;
  StopFlag const& stop_;
  GatewayDialer dialer_;
  std::mt19937_64 rng_;

  std::string me_;                          // the user id the server names us by (`hello`)
  std::set<std::string> rooms_;             // the rooms this user is a member of (or joining)
  std::map<std::string, std::int64_t> last_seq_;  // per room: the last seq seen (for `since`)
  std::map<std::string, Pending> pending_;  // id -> sent, not acknowledged yet
  std::map<std::string, std::int64_t> join_again_;  // room -> when: a join refused for now
  std::int64_t messages_ = 0;
  int actions_ = 0;
  bool connected_before_ = false;
  bool finished_ = false;  // open loop: the session is over, every room left
};

}  // namespace outboard::lab
