#include "lab/redis_cluster_engine.hpp"

#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lab/free_port.hpp"

namespace outboard::lab {
namespace {

constexpr char const* kRedisServer = "/usr/bin/redis-server";
constexpr char const* kRedisCli = "/usr/bin/redis-cli";
constexpr std::size_t kNodes = 6;  // 3 masters, 3 replicas
constexpr auto kFormTimeout = std::chrono::seconds(30);
constexpr auto kPoll = std::chrono::milliseconds(20);

std::vector<std::string> lines_of(std::string const& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> words_of(std::string const& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// One CLUSTER NODES line, the parts we read.
struct NodeLine {
  std::uint16_t port = 0;
  bool master = false;
  bool failed = false;
  std::vector<std::string> slots;  // "0-5460", "5461", "[...]" (migration marks)
};

NodeLine parse_node_line(std::string const& line) {
  auto words = words_of(line);
  NodeLine node;
  if (words.size() < 8) return node;
  std::string const& address = words[1];  // ip:port@cport[,hostname]
  auto colon = address.find(':');
  auto at = address.find('@');
  if (colon != std::string::npos && at != std::string::npos) {
    node.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1, at - colon - 1)));
  }
  std::string const& flags = words[2];
  node.master = flags.find("master") != std::string::npos;
  node.failed = flags.find("fail") != std::string::npos && flags.find("fail?") == std::string::npos;
  node.slots.assign(words.begin() + 8, words.end());
  return node;
}

bool covers(std::string const& range, int slot) {
  if (range.empty() || range.front() == '[') return false;
  auto dash = range.find('-');
  int first = std::stoi(range.substr(0, dash));
  int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
  return slot >= first && slot <= last;
}

}  // namespace

RedisClusterEngine::RedisClusterEngine(std::filesystem::path dir, int node_timeout_ms)
    : dir_(std::move(dir)), node_timeout_ms_(node_timeout_ms) {
  std::filesystem::create_directories(dir_);
  for (char const* binary : {kRedisServer, kRedisCli}) {
    if (!std::filesystem::exists(binary)) {
      throw std::runtime_error(std::string(binary) + " is missing: install Debian's redis-server and " +
                               "redis-tools (the cluster tests need real ones)");
    }
  }
  for (std::size_t i = 0; i < kNodes; ++i) {
    ports_.push_back(free_port());
    bus_ports_.push_back(free_port());
    start_node(i);
  }
  // Every node must answer before the cluster is formed.
  auto deadline = std::chrono::steady_clock::now() + kFormTimeout;
  for (auto port : ports_) {
    while (cli(port, {"PING"}).find("PONG") == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error("cluster node " + std::to_string(port) + " did not answer PING; its log:\n" +
                                 log_tail(node_log(port)));
      }
      std::this_thread::sleep_for(kPoll);
    }
  }
  form();
  wait_until_ok();
}

// What `redis-cli --cluster create --cluster-replicas 1` does, without its one-second sleeps:
// distinct config epochs, slots split in three, everyone met, then each replica told its master.
void RedisClusterEngine::form() {
  constexpr std::size_t kMasters = kNodes / 2;
  for (std::size_t i = 0; i < kNodes; ++i) {
    cli(ports_[i], {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
  }
  for (std::size_t i = 0; i < kMasters; ++i) {
    int first = static_cast<int>(i * 16384 / kMasters);
    int last = static_cast<int>((i + 1) * 16384 / kMasters) - 1;
    std::string added = cli(ports_[i], {"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)});
    if (added.find("OK") == std::string::npos) throw std::runtime_error("CLUSTER ADDSLOTSRANGE failed: " + added);
  }
  // The bus port said, since it is not Redis's default (port + 10000).
  for (std::size_t i = 1; i < kNodes; ++i) {
    cli(ports_[0], {"CLUSTER", "MEET", "127.0.0.1", std::to_string(ports_[i]), std::to_string(bus_ports_[i])});
  }
  std::vector<std::string> ids;
  for (auto port : ports_) ids.push_back(node_id(port));
  // CLUSTER REPLICATE needs the master known to the replica (gossip from the MEETs).
  auto deadline = std::chrono::steady_clock::now() + kFormTimeout;
  for (std::size_t i = kMasters; i < kNodes; ++i) {
    for (;;) {
      std::string out = cli(ports_[i], {"CLUSTER", "REPLICATE", ids[i - kMasters]});
      if (out.find("OK") != std::string::npos) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error("CLUSTER REPLICATE failed: " + out);
      }
      std::this_thread::sleep_for(kPoll);
    }
  }
}

RedisClusterEngine::~RedisClusterEngine() = default;  // each ChildProcess SIGKILLs and reaps by pid

std::filesystem::path RedisClusterEngine::node_log(std::uint16_t port) const {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == port) return dir_ / ("node" + std::to_string(i)) / "redis.log";
  }
  return {};
}

void RedisClusterEngine::start_node(std::size_t index) {
  auto dir = dir_ / ("node" + std::to_string(index));
  std::filesystem::create_directories(dir);
  std::vector<std::string> argv{kRedisServer,
                                "--port", std::to_string(ports_[index]),
                                "--cluster-port", std::to_string(bus_ports_[index]),
                                "--bind", "127.0.0.1",
                                "--dir", dir.string(),
                                "--cluster-enabled", "yes",
                                "--cluster-config-file", "nodes.conf",
                                "--cluster-node-timeout", std::to_string(node_timeout_ms_),
                                "--save", "",
                                "--appendonly", "no",
                                // Replicas sync at once (Redis 7 waits 5 s for more replicas).
                                "--repl-diskless-sync-delay", "0",
                                "--daemonize", "no",
                                "--protected-mode", "no",
                                "--logfile", ""};
  auto node = std::make_unique<ChildProcess>(std::move(argv), node_log(ports_[index]));
  if (index < nodes_.size()) {
    nodes_[index] = std::move(node);
  } else {
    nodes_.push_back(std::move(node));
  }
}

std::string RedisClusterEngine::url() const {
  std::string out = "redis-cluster://";
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (i) out += ",";
    out += "127.0.0.1:" + std::to_string(ports_[i]);
  }
  return out;
}

std::string RedisClusterEngine::cli(std::uint16_t port, std::vector<std::string> const& args) const {
  auto out_file = dir_ / ("cli-" + std::to_string(cli_runs_++) + ".out");
  std::vector<std::string> argv{kRedisCli, "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  {
    ChildProcess child(std::move(argv), out_file);
    if (!child.wait_blocking(std::chrono::seconds(10))) throw std::runtime_error("redis-cli did not finish within 10 s");
  }
  std::string text = read_output(out_file);
  std::filesystem::remove(out_file);
  return text;
}

void RedisClusterEngine::flush_all() const {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (nodes_[i]) cli(ports_[i], {"FLUSHALL"});  // a replica answers READONLY: ignored
  }
}

bool RedisClusterEngine::alive(std::uint16_t port) const {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == port) return nodes_[i] != nullptr;
  }
  return false;
}

std::vector<std::uint16_t> RedisClusterEngine::master_ports(std::uint16_t ask) const {
  std::vector<std::uint16_t> out;
  for (auto const& line : lines_of(cli(ask, {"CLUSTER", "NODES"}))) {
    auto node = parse_node_line(line);
    if (node.master && !node.failed && alive(node.port)) out.push_back(node.port);
  }
  return out;
}

std::string RedisClusterEngine::node_id(std::uint16_t port) const {
  auto lines = lines_of(cli(port, {"CLUSTER", "MYID"}));
  if (lines.empty()) throw std::runtime_error("CLUSTER MYID: no answer from " + std::to_string(port));
  return lines.front();
}

std::uint16_t RedisClusterEngine::owner_of(int slot, std::uint16_t ask) const {
  for (auto const& line : lines_of(cli(ask, {"CLUSTER", "NODES"}))) {
    auto node = parse_node_line(line);
    if (!node.master || node.failed) continue;
    for (auto const& range : node.slots) {
      if (covers(range, slot)) return node.port;
    }
  }
  return 0;
}

void RedisClusterEngine::kill(std::uint16_t port) {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] != port || !nodes_[i]) continue;
    nodes_[i]->kill_now();
    nodes_[i].reset();
  }
}

void RedisClusterEngine::restart(std::uint16_t port) {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == port && !nodes_[i]) start_node(i);
  }
}

std::uint16_t RedisClusterEngine::any_live_port() const {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (nodes_[i]) return ports_[i];
  }
  return 0;
}

void RedisClusterEngine::wait_until_ok() const {
  auto deadline = std::chrono::steady_clock::now() + kFormTimeout;
  auto settled = [&] {
    for (std::size_t i = 0; i < ports_.size(); ++i) {
      if (!nodes_[i]) continue;
      if (cli(ports_[i], {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) return false;
      // Every slot-owning master this node knows must be a live process (a killed master is
      // still listed as healthy until the others notice it).
      for (auto const& line : lines_of(cli(ports_[i], {"CLUSTER", "NODES"}))) {
        auto node = parse_node_line(line);
        if (node.master && !node.slots.empty() && !node.failed && !alive(node.port)) return false;
      }
    }
    return true;
  };
  while (!settled()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("the redis cluster did not reach cluster_state:ok within 30 s");
    }
    std::this_thread::sleep_for(kPoll);
  }
}

void RedisClusterEngine::wait_until_replicas_synced() const {
  auto deadline = std::chrono::steady_clock::now() + kFormTimeout;
  std::uint16_t ask = any_live_port();
  auto synced = [&] {
    for (auto port : master_ports(ask)) {
      std::string info = cli(port, {"INFO", "replication"});
      if (info.find("connected_slaves:0") != std::string::npos) return false;
      if (info.find("state=online") == std::string::npos) return false;
    }
    return true;
  };
  while (!synced()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("the cluster's replicas did not sync within 30 s");
    }
    std::this_thread::sleep_for(kPoll);
  }
}

void RedisClusterEngine::wait_until_replicated(std::uint16_t port) const {
  auto deadline = std::chrono::steady_clock::now() + kFormTimeout;
  auto number_after = [](std::string const& text, std::string const& label) -> long long {
    auto at = text.find(label);
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + label.size()));
  };
  for (;;) {
    // The replica's own offset: what it has applied (the master hears of it only once a second).
    std::string info = cli(port, {"INFO", "replication"});
    long long own = number_after(info, "master_repl_offset:");
    auto replica = info.find("slave0:");
    long long replica_port = replica == std::string::npos ? -1 : number_after(info.substr(replica), "port=");
    if (own >= 0 && replica_port > 0) {
      std::string theirs = cli(static_cast<std::uint16_t>(replica_port), {"INFO", "replication"});
      if (number_after(theirs, "slave_repl_offset:") >= own) return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("the replica of " + std::to_string(port) + " did not catch up within 30 s");
    }
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace outboard::lab
