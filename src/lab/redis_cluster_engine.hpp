#pragma once
// A private Redis Cluster: 6 of Debian's redis-server (3 masters, 3 replicas) on free loopback
// ports in a directory of the caller's, formed with CLUSTER ADDSLOTSRANGE / MEET / REPLICATE (what
// `redis-cli --cluster create` does, minus its sleeps), stopped by pid on destruction. Started
// by `outboard lab --store redis-cluster` and by the tests (tests/support/redis_cluster.hpp).
//
// Its calls block (each is a redis-cli run, milliseconds on loopback; the waits poll, bounded):
// the lab calls them before its users start or for a fault's one quick step.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lab/child_process.hpp"

namespace outboard::lab {

class RedisClusterEngine {
 public:
  // Starts the nodes in `dir` (created), forms the cluster and waits (bounded) until every node
  // says cluster_state:ok. node_timeout_ms: how long a silent master takes to be declared failed
  // (failover speed). Throws std::runtime_error naming what failed, with its log.
  RedisClusterEngine(std::filesystem::path dir, int node_timeout_ms = 1000);
  ~RedisClusterEngine();
  RedisClusterEngine(RedisClusterEngine const&) = delete;
  RedisClusterEngine& operator=(RedisClusterEngine const&) = delete;

  // redis-cluster://127.0.0.1:P1,...: every node as a seed.
  std::string url() const;
  std::vector<std::uint16_t> const& ports() const { return ports_; }

  // redis-cli -p PORT ARGS...: its stdout (raw, not a tty). Bounded by 10 s.
  std::string cli(std::uint16_t port, std::vector<std::string> const& args) const;
  // FLUSHALL on every master (a replica refuses it and follows its master).
  void flush_all() const;

  // Live masters' ports, by what the node at `ask` says (CLUSTER NODES).
  std::vector<std::uint16_t> master_ports(std::uint16_t ask) const;
  // A live node's port to ask about the others (0 when every node is dead).
  std::uint16_t any_live_port() const;
  std::string node_id(std::uint16_t port) const;  // CLUSTER MYID
  // The port of the master serving `slot`, by what the node at `ask` says.
  std::uint16_t owner_of(int slot, std::uint16_t ask) const;

  // SIGKILL one node and reap it, as in a crash.
  void kill(std::uint16_t port);
  // Starts a killed node again on its port and data: it rejoins (a replica of whoever took over).
  void restart(std::uint16_t port);
  // Bounded polling until every live node says cluster_state:ok and every slot has a live master.
  void wait_until_ok() const;
  // Bounded polling until every master has a replica that finished its initial sync.
  void wait_until_replicas_synced() const;
  // Bounded polling until the master at `port` has a replica whose offset caught up with its own:
  // every write it acknowledged so far is on a replica too.
  void wait_until_replicated(std::uint16_t port) const;

 private:
  void start_node(std::size_t index);
  std::filesystem::path node_log(std::uint16_t port) const;  // node PORT's log file
  void form();
  bool alive(std::uint16_t port) const;

  std::filesystem::path dir_;
  int node_timeout_ms_;
  std::vector<std::uint16_t> ports_;
  // Each node's cluster bus port, chosen as the data ports are. Redis's default, port + 10000, would
  // land in the kernel's ephemeral range, where any client's connect() can take it first.
  std::vector<std::uint16_t> bus_ports_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;  // by index of ports_; null once killed
  mutable std::atomic<unsigned> cli_runs_{0};          // each redis-cli run writes its own file
};

}  // namespace outboard::lab
