#pragma once
// One worker thread's way into a Redis Cluster: a slot map (CLUSTER SLOTS, loaded on first use),
// one pipelined RedisConnection per master (made lazily, kept), and the cluster's redirections.
//
// Routing: a command goes to the master of its key's slot. -MOVED updates that slot at once and
// refreshes the whole map in the background (a slot moved: others probably did too). -ASK sends
// ASKING and the command back to back to the named node, once, without touching the map (the
// slot is mid-migration). At most kMaxRedirects redirections, then Errc::unavailable.
//
// Failures: a node that does not answer (killed, unreachable) makes us reload the map from any
// other node (a replica may have been promoted). A command that is safe to repeat (Repeat::safe)
// is then sent again to the slot's owner; an unsafe one answers Errc::unavailable, since it may
// have run. -CLUSTERDOWN and -TRYAGAIN (slots not served, keys of a command split by a migration)
// are Errc::unavailable: the caller turns them into a 503, never into another answer.
//
// The map is per thread (no locks, no shared state): each thread's router learns the topology
// on its own. Executor: every member on the executor given to the constructor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "state/redis/redis_connection.hpp"
#include "state/redis/redis_router.hpp"
#include "state/redis_cluster/slot_map.hpp"
#include "state/store_url.hpp"

namespace outboard::state::redis_cluster {

inline constexpr int kMaxRedirects = 5;

// The nodes a redis-cluster:// URL names (its host:port list, or its one host), where a router
// and a pub/sub reader start.
std::vector<NodeAddress> seed_nodes(StoreUrl const& url);

class ClusterRouter final : public RedisRouter, public std::enable_shared_from_this<ClusterRouter> {
 public:
  // Does not connect: the first command loads the map. `password`: AUTH on every node.
  ClusterRouter(boost::asio::any_io_executor executor, std::vector<NodeAddress> seeds, std::string password,
                core::Millis command_timeout);

  // `answered`: the node that finally answered, after any MOVED / ASK (where a WAIT must go).
  boost::asio::awaitable<Result<Reply>> execute(std::string command, std::string key, Repeat repeat,
                                                AnsweredOn* answered) override;
  Result<void> one_command_may_touch(std::span<std::string_view const> keys) const override;
  void close() override;

  // Reloads the map now (from any node that answers); what a failed command does. Coalesced:
  // callers arriving while a reload runs wait for that one.
  boost::asio::awaitable<Result<void>> refresh(std::string avoid);

 private:
  using Connection = std::shared_ptr<RedisConnection>;

  Connection connection_to(NodeAddress const& address);
  boost::asio::awaitable<Result<void>> load_map(std::string avoid);
  void refresh_in_background();
  static boost::asio::awaitable<void> background_refresh(std::shared_ptr<ClusterRouter> self);
  // The node a command about `key` goes to first; nullopt when no master serves its slot.
  std::optional<NodeAddress> owner_of(std::string const& key) const;

  boost::asio::any_io_executor executor_;
  std::vector<NodeAddress> seeds_;
  std::string password_;
  core::Millis command_timeout_;
  SlotMap map_;  // empty until the first load
  std::unordered_map<std::string, Connection> connections_;  // by NodeAddress::name()
  // Set while a reload runs; cancelled (waking its waiters) when it ends.
  std::shared_ptr<boost::asio::steady_timer> reloading_;
  core::Error last_load_error_;
  bool closed_ = false;
};

}  // namespace outboard::state::redis_cluster
