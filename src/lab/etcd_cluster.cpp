#include "lab/etcd_cluster.hpp"

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "core/random.hpp"
#include "lab/free_port.hpp"
#include "lab/process_wait.hpp"
#include "registry/etcd_client.hpp"

namespace outboard::lab {
namespace asio = boost::asio;
namespace {

constexpr core::Millis kProbeTimeout{500};

registry::EtcdClient client_of(asio::any_io_executor executor, std::uint16_t port) {
  return registry::EtcdClient(std::move(executor), {{"127.0.0.1", port}}, kProbeTimeout);
}

// A member is ready when it serves a read, which needs an elected leader.
asio::awaitable<bool> answers_read(std::uint16_t port) {
  auto client = client_of(co_await asio::this_coro::executor, port);
  auto range = co_await client.range_prefix("/outboard/");
  co_return range.has_value();
}

}  // namespace

EtcdCluster::EtcdCluster(std::filesystem::path work_dir, int members, std::filesystem::path etcd_binary)
    : work_dir_(std::move(work_dir)), etcd_binary_(std::move(etcd_binary)), token_(core::hex_encode(core::random_bytes(8))) {
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = "etcd" + std::to_string(i);
    m.client_port = free_port();
    m.peer_port = free_port();
    members_.push_back(std::move(m));
  }
}

EtcdCluster::~EtcdCluster() = default;  // each ChildProcess SIGKILLs and reaps its member

std::string EtcdCluster::url() const {
  std::string out = "etcd://";
  for (auto const& m : members_) out += (out.size() > 7 ? "," : "") + fmt::format("127.0.0.1:{}", m.client_port);
  return out;
}

void EtcdCluster::launch(Member& m, bool first_start) {
  std::string initial;
  for (auto const& other : members_) {
    initial += (initial.empty() ? "" : ",") + fmt::format("{}=http://127.0.0.1:{}", other.name, other.peer_port);
  }
  auto client = fmt::format("http://127.0.0.1:{}", m.client_port);
  auto peer = fmt::format("http://127.0.0.1:{}", m.peer_port);
  std::vector<std::string> argv{etcd_binary_.string(),
                                "--name", m.name,
                                "--data-dir", (work_dir_ / m.name).string(),
                                "--listen-client-urls", client,
                                "--advertise-client-urls", client,
                                "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer,
                                "--initial-cluster", initial,
                                "--initial-cluster-token", token_,
                                "--initial-cluster-state", first_start ? "new" : "existing",
                                "--heartbeat-interval", "50",
                                "--election-timeout", "500",
                                "--logger", "zap",
                                "--log-level", "warn"};
  m.process = std::make_unique<ChildProcess>(argv, work_dir_ / (m.name + ".log"));
}

asio::awaitable<void> EtcdCluster::wait_member(Member& m) {
  std::uint16_t port = m.client_port;
  co_await wait_ready(fmt::format("etcd member {} on port {}", m.name, port), *m.process,
                      [port]() { return answers_read(port); });
  auto client = client_of(co_await asio::this_coro::executor, port);
  auto status = co_await client.status();
  if (status) m.id = status->member_id;
}

asio::awaitable<void> EtcdCluster::start() {
  if (!std::filesystem::exists(etcd_binary_)) {
    throw ClusterError(etcd_binary_.string() + " is missing: install Debian's etcd-server (scripts/setup.sh does)");
  }
  std::filesystem::create_directories(work_dir_);
  for (auto& m : members_) launch(m, true);
  for (auto& m : members_) co_await wait_member(m);
}

void EtcdCluster::kill(int member) {
  auto& m = members_.at(static_cast<std::size_t>(member));
  if (m.process) m.process->kill_now();
}

asio::awaitable<void> EtcdCluster::restart(int member) {
  auto& m = members_.at(static_cast<std::size_t>(member));
  if (m.process) m.process->kill_now();
  launch(m, false);
  co_await wait_member(m);
}

asio::awaitable<std::optional<int>> EtcdCluster::leader() {
  for (auto& m : members_) {
    if (!m.process || !m.process->running()) continue;
    auto client = client_of(co_await asio::this_coro::executor, m.client_port);
    auto status = co_await client.status();
    if (!status || status->leader.empty()) continue;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].id == status->leader) co_return static_cast<int>(i);
    }
  }
  co_return std::nullopt;
}

}  // namespace outboard::lab
