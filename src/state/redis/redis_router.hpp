#pragma once
// Which connection serves a command: the seam between the store's commands (redis_store.cpp,
// one implementation for single redis and Redis Cluster) and how they reach a server. Single
// redis sends everything on its one pipelined connection; the cluster picks the node owning the
// key's slot and follows MOVED / ASK (state/redis_cluster/).
//
// Executor: one router per worker thread, called only on that thread's executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

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

class RedisRouter {
 public:
  virtual ~RedisRouter() = default;

  // Sends one encoded command touching `key` (empty: any node, e.g. PING) and answers its reply.
  // As RedisConnection::execute: Errc::unavailable / timeout when no server answered; an error
  // reply is a Reply of Type::error, except what routing itself understands (the cluster's
  // redirections, CLUSTERDOWN, TRYAGAIN). The caller holds a shared_ptr to the router until done.
  virtual boost::asio::awaitable<Result<Reply>> execute(std::string command, std::string key, Repeat repeat) = 0;

  // Errc::invalid, naming the keys, when one command may not touch all of `keys` (in a cluster:
  // they hash to different slots). Single redis accepts any keys.
  virtual Result<void> one_command_may_touch(std::span<std::string_view const> keys) const = 0;

  // Closes every connection; later commands fail with Errc::unavailable. On the router's thread.
  virtual void close() = 0;
};

class RedisConnection;

// Single redis's router: every command on `conn`, one pipelined connection, any keys together.
std::shared_ptr<RedisRouter> make_single_router(std::shared_ptr<RedisConnection> conn);

// One worker thread's Store over `router`, without a near-cache. `backend` is what
// Store::backend() answers ("redis-cluster"); it must outlive the store (a literal).
std::shared_ptr<Store> make_routed_redis_store(boost::asio::any_io_executor executor,
                                               std::shared_ptr<RedisRouter> router, std::string_view backend);

}  // namespace outboard::state
