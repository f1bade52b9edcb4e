#pragma once
// A private etcd cluster on loopback (Debian's etcd-server 3.4): N members, each on two free
// ports (clients, peers) with its data in the work directory, stopped by pid. Short heartbeat
// and election timeouts, so a killed leader is replaced within about a second. Used by the lab
// (`--registry etcd`) and by the registry's tests.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lab/child_process.hpp"

namespace outboard::lab {

class EtcdCluster {
 public:
  EtcdCluster(std::filesystem::path work_dir, int members, std::filesystem::path etcd_binary = "/usr/bin/etcd");
  ~EtcdCluster();

  // Starts every member and waits until each answers a read (a leader was elected). Throws
  // ClusterError naming the member, with its log's tail.
  boost::asio::awaitable<void> start();
  int size() const { return static_cast<int>(members_.size()); }
  // "etcd://127.0.0.1:P1,127.0.0.1:P2,...": every member, for clients that fail over.
  std::string url() const;
  std::uint16_t client_port(int member) const { return members_.at(static_cast<std::size_t>(member)).client_port; }

  void kill(int member);  // SIGKILL: the member is gone, as in a crash
  boost::asio::awaitable<void> restart(int member);  // same ports and data; waits until it answers
  // The index of the current leader as the living members see it; nullopt when none agrees.
  boost::asio::awaitable<std::optional<int>> leader();

 private:
  struct Member {
    std::string name;
    std::uint16_t client_port = 0;
    std::uint16_t peer_port = 0;
    std::string id;  // etcd's member id, learned at start
    std::unique_ptr<ChildProcess> process;
  };
  void launch(Member& member, bool first_start);
  boost::asio::awaitable<void> wait_member(Member& member);

  std::filesystem::path work_dir_;
  std::filesystem::path etcd_binary_;
  std::string token_;
  std::vector<Member> members_;
};

}  // namespace outboard::lab
