#pragma once
// A private Redis Cluster: 6 of Debian's redis-server (3 masters, 3 replicas) on free loopback
// ports in a temp dir, formed with CLUSTER ADDSLOTSRANGE / MEET / REPLICATE (what
// `redis-cli --cluster create` does, minus its sleeps), stopped by pid on destruction.
// Fails the test (never skips) when redis-server or redis-cli is missing.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

class RedisCluster {
 public:
  // Starts the nodes, forms the cluster and waits (bounded) until every node says cluster_state:ok.
  // node_timeout_ms: how long a silent master takes to be declared failed (failover speed).
  explicit RedisCluster(int node_timeout_ms = 1000);
  ~RedisCluster();
  RedisCluster(RedisCluster const&) = delete;
  RedisCluster& operator=(RedisCluster const&) = delete;

  // redis-cluster://127.0.0.1:P1,...: every node as a seed.
  std::string url() const;
  std::vector<std::uint16_t> const& ports() const { return ports_; }

  // redis-cli -p PORT ARGS...: its stdout (raw, not a tty). Bounded by 10 s.
  std::string cli(std::uint16_t port, std::vector<std::string> const& args) const;
  // FLUSHALL on every master (a replica refuses it and follows its master).
  void flush_all() const;

  // Live masters' ports, by what the node at `ask` says (CLUSTER NODES).
  std::vector<std::uint16_t> master_ports(std::uint16_t ask) const;
  std::string node_id(std::uint16_t port) const;  // CLUSTER MYID
  // The port of the master serving `slot`, by what the node at `ask` says.
  std::uint16_t owner_of(int slot, std::uint16_t ask) const;

  // SIGKILL one node and reap it, as in a crash.
  void kill(std::uint16_t port);
  // Bounded polling until every live node says cluster_state:ok and every slot has a live master.
  void wait_until_ok() const;
  // Bounded polling until every master has a replica that finished its initial sync.
  void wait_until_replicas_synced() const;
  // Bounded polling until the master at `port` has a replica whose offset caught up with its own:
  // every write it acknowledged so far is on a replica too.
  void wait_until_replicated(std::uint16_t port) const;

 private:
  void start_node(std::size_t index, int node_timeout_ms);
  void form();
  bool alive(std::uint16_t port) const;

  TempDir dir_;
  std::vector<std::uint16_t> ports_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;  // by index of ports_; null once killed
};

// The process's shared cluster (what fresh_redis_cluster_url() empties and names), started on
// first use. For tests that move slots around; a test that kills nodes makes its own.
RedisCluster& shared_redis_cluster();

}  // namespace outboard::testing
