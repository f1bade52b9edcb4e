#pragma once
// Which connection serves a command: the seam between the store's commands (redis_store.cpp,
// one implementation for single redis and Redis Cluster) and how they reach a server. Single
// redis sends everything on its one pipelined connection; the cluster picks the node owning the
// key's slot and follows MOVED / ASK (state/redis_cluster/).
//
// Executor: one router per worker thread, called only on that thread's executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "state/redis/resp.hpp"
#include "state/store.hpp"

namespace outboard::state {

// Whether a command may be sent again when it is unknown whether it ran (its connection dropped
// before the reply). `safe`: repeating it leaves the same state and gives the same answer (reads,
// SET of a given value, HSET, PEXPIRE). `unsafe`: INCRBY, RPUSH, SET NX, DEL, scripts that
// check-and-write: a retry could apply twice or answer differently, so they fail instead.
enum class Repeat { safe, unsafe };

class RedisConnection;

// Where a command was answered: the connection (after any redirection) and the serial of the TCP
// connection it went out on (RedisConnection::execute's `sent_on`). What `WAIT` needs: it counts
// only the writes of the very TCP connection it is sent on.
struct AnsweredOn {
  std::shared_ptr<RedisConnection> conn;
  std::uint64_t serial = 0;
};

class RedisRouter {
 public:
  virtual ~RedisRouter() = default;

  // Sends one encoded command touching `key` (empty: any node, e.g. PING) and answers its reply.
  // As RedisConnection::execute: Errc::unavailable / timeout when no server answered; an error
  // reply is a Reply of Type::error, except what routing itself understands (the cluster's
  // redirections, CLUSTERDOWN, TRYAGAIN). The caller holds a shared_ptr to the router until done.
  // `answered`, when given, receives where the reply came from (set only when one did).
  virtual boost::asio::awaitable<Result<Reply>> execute(std::string command, std::string key, Repeat repeat,
                                                        AnsweredOn* answered = nullptr) = 0;

  // Errc::invalid, naming the keys, when one command may not touch all of `keys` (in a cluster:
  // they hash to different slots). Single redis accepts any keys.
  virtual Result<void> one_command_may_touch(std::span<std::string_view const> keys) const = 0;

  // Closes every connection; later commands fail with Errc::unavailable. On the router's thread.
  virtual void close() = 0;
};

// Durability for chosen writes (docs/STATE.md, "WAIT"): after a write answered on `where`,
// `WAIT replicas timeout` on that same TCP connection. Succeeds when at least `replicas` replicas
// confirmed every write sent on it so far; otherwise Errc::unavailable saying the write is on the
// master but not confirmed (by k of n within the timeout, or unknown: the connection was lost or
// replaced before WAIT ran, or Redis refused WAIT). Never repeats the write.
boost::asio::awaitable<Result<void>> confirm_replicated(AnsweredOn where, int replicas, Millis timeout);

// Throws std::invalid_argument (start-up) when StoreOptions' wait settings cannot work: a negative
// wait_replicas, or a wait_timeout below 1 ms (WAIT 0 blocks for ever) or not below
// command_timeout (the connection's own timeout would fire first and drop it).
void check_wait_options(StoreOptions const& options);

// Single redis's router: every command on `conn`, one pipelined connection, any keys together.
std::shared_ptr<RedisRouter> make_single_router(std::shared_ptr<RedisConnection> conn);

// One worker thread's Store over `router`, without a near-cache. `backend` is what
// Store::backend() answers ("redis-cluster"); it must outlive the store (a literal). Of `options`
// it uses wait_replicas and wait_timeout (the rest is the router's business).
std::shared_ptr<Store> make_routed_redis_store(boost::asio::any_io_executor executor,
                                               std::shared_ptr<RedisRouter> router, std::string_view backend,
                                               StoreOptions const& options);

}  // namespace outboard::state
