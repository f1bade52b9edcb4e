#pragma once
// One pipelined Redis connection, owned by one event-loop thread and shared by every coroutine
// on it. Commands from concurrent coroutines are queued, written back to back (whatever is queued
// goes out in one write) and matched with replies in FIFO order, as Redis answers in order.
//
// Lifecycle: connects lazily on the first command (TCP, then AUTH and SELECT, bounded by the
// command timeout). A dropped connection fails every command in flight with Errc::unavailable and
// the next command reconnects. A command without a reply within the timeout fails with
// Errc::timeout and drops the connection (the rest in flight fail with Errc::timeout too). A
// failed connect or a timeout starts an exponential backoff (50 ms doubling to 2 s, reset by any
// reply) during which commands fail at once with Errc::unavailable instead of queueing.
//
// Executor: every member must be called on the executor given to create(), by coroutines running
// on it; nothing here locks. Ownership: hold it by shared_ptr; coroutines in flight keep it alive,
// and close() (called by the owning store's destructor) ends them promptly.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state {

struct RedisEndpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::string password;  // empty: no AUTH
  int database = 0;      // 0: no SELECT
  core::Millis command_timeout{1000};
};

// The reconnect backoff of every redis connection of ours, data and pub/sub alike: 50 ms after
// the first failure, doubling to 2 s, back to 50 ms once Redis answers.
inline constexpr core::Millis kFirstBackoff{50};
inline constexpr core::Millis kMaxBackoff{2000};

struct StoreUrl;
struct StoreOptions;

// A redis:// URL's endpoint, with the store's command timeout: what the store, the feed and
// their background links all connect to.
RedisEndpoint endpoint_for(StoreUrl const& url, StoreOptions const& options);

// The completion handler of the redis backend's background coroutines (co_spawn). They use
// as_tuple throughout, so only std::bad_alloc can land here; it is logged instead of escaping
// from io_context::run().
void log_if_thrown(std::exception_ptr e);

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  static std::shared_ptr<RedisConnection> create(boost::asio::any_io_executor executor,
                                                 RedisEndpoint endpoint);
  ~RedisConnection();
  RedisConnection(RedisConnection const&) = delete;
  RedisConnection& operator=(RedisConnection const&) = delete;

  // Sends one encoded command (see encode_command) and waits for its reply. Never throws except
  // std::bad_alloc. Errc::unavailable when Redis cannot be reached (or the connection dropped
  // before the reply), Errc::timeout when no reply came within command_timeout (this one's, or
  // another's on the same connection). An error *reply* is a successful Reply of Type::error:
  // the caller decides what it means.
  // The caller must hold a shared_ptr to this connection until the awaitable completes.
  // `sent_on`, when given, receives (before the first suspension) the serial of the TCP
  // connection the command was queued on: serials grow with every reconnect, so two commands
  // that both succeeded with one serial ran on one connection, in order. What the near-cache
  // uses to know that a read ran where its CLIENT TRACKING was turned on.
  boost::asio::awaitable<core::Result<Reply>> execute(std::string command, std::uint64_t* sent_on = nullptr);

  // Sends `preface` and `command` (both encoded) back to back on one TCP connection, with no
  // other command between them, and answers the reply to `command` (the preface's is dropped).
  // What a cluster's ASK redirection needs: ASKING holds for the very next command only.
  // `sent_on` as in execute().
  boost::asio::awaitable<core::Result<Reply>> execute_after(std::string preface, std::string command,
                                                            std::uint64_t* sent_on = nullptr);

  // Closes the socket and fails everything in flight with Errc::unavailable; later commands fail
  // at once. Idempotent.
  void close();

  // Called (on this connection's executor) whenever a TCP connection that had completed its
  // handshake is gone: dropped, timed out or closed. Redis forgets a client's CLIENT TRACKING
  // with the client, so the near-cache must forget what was read through it.
  void on_connection_lost(std::function<void()> callback) { lost_ = std::move(callback); }

  std::string const& describe() const { return name_; }  // "redis 127.0.0.1:6379/3", for errors

 private:
  struct Link;
  struct Pending;

  RedisConnection(boost::asio::any_io_executor executor, RedisEndpoint endpoint);

  boost::asio::awaitable<core::Result<Reply>> send(std::string preface, std::string command,
                                                   std::uint64_t* sent_on);
  std::shared_ptr<Link> start_link();
  // A connection attempt failed or a command timed out: fails the link and backs off. A link that
  // merely dropped (read/write error, Redis restarted) is failed by fail_link alone, so the next
  // command reconnects at once.
  // `code` is what the commands still in flight on it see.
  void link_failed(Link& link, std::string const& what, core::Errc code = core::Errc::unavailable);
  static boost::asio::awaitable<void> connect(std::shared_ptr<RedisConnection> self,
                                              std::shared_ptr<Link> link);
  static boost::asio::awaitable<void> read_loop(std::shared_ptr<Link> link);
  static boost::asio::awaitable<void> write_loop(std::shared_ptr<Link> link);
  static void start_writing(std::shared_ptr<Link> const& link);
  static void fail_link(Link& link, core::Error const& error);

  boost::asio::any_io_executor executor_;
  RedisEndpoint endpoint_;
  std::string name_;
  std::shared_ptr<Link> link_;  // the current connection attempt or live connection; null at first
  std::uint64_t links_made_ = 0;  // the last Link's serial
  std::function<void()> lost_;    // see on_connection_lost
  bool closed_ = false;
  // Reconnect backoff, in steady time: connect failures and timeouts grow it; any reply (the
  // handshake's or a command's) resets it.
  core::Millis backoff_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::string last_error_;
};

}  // namespace outboard::state
