#include "lab/free_port.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <fstream>
#include <mutex>
#include <random>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;

constexpr unsigned lowest_candidate = 10000;  // clear of the well-known and usual server ports
constexpr unsigned least_room = 4096;         // fewer candidates than this: use bind(0)

// The first port of the kernel's ephemeral range; Linux's default when it cannot be read.
unsigned ephemeral_range_start() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned low = 0;
  if (range >> low && low > 0) return low;
  return 32768;
}

}  // namespace

bool port_unused(std::uint16_t port) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  acceptor.open(asio::ip::tcp::v4(), ec);
  // No SO_REUSEADDR: a port with connections still in TIME_WAIT (a server just killed or stopped,
  // maybe about to be started again on it) is not free for us. CI saw a lab's kill-and-restart
  // fail because another test took the port during the restart's 1 s gap.
  if (!ec) acceptor.bind({asio::ip::address_v4::loopback(), port}, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return !ec;
}

namespace {

std::uint16_t kernel_chosen_port(asio::io_context& io) {
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

// The ports this process handed out last: a lab or a test asks for several in a row (a client and
// a peer port per etcd member, six redis nodes) before any child has bound one. Shared by every
// caller in the process on purpose, and the lab is a tool, not one of the servers.
class RecentPorts {
 public:
  bool contains(std::uint16_t port) const {
    for (auto p : ring_) {
      if (p == port) return true;
    }
    return false;
  }
  void add(std::uint16_t port) {
    ring_[next_] = port;
    next_ = (next_ + 1) % ring_.size();
  }

 private:
  std::array<std::uint16_t, 256> ring_{};
  std::size_t next_ = 0;
};

}  // namespace

std::uint16_t free_port() {
  static std::mutex mutex;
  static RecentPorts recent;
  asio::io_context io;
  unsigned const end = ephemeral_range_start();
  std::lock_guard lock(mutex);
  if (end >= lowest_candidate + least_room) {
    std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<unsigned> pick(lowest_candidate, end - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto const port = static_cast<std::uint16_t>(pick(random));
      if (recent.contains(port) || !port_unused(port)) continue;
      recent.add(port);
      return port;
    }
  }
  auto port = kernel_chosen_port(io);
  for (int attempt = 0; attempt < 16 && recent.contains(port); ++attempt) port = kernel_chosen_port(io);
  recent.add(port);
  return port;
}

}  // namespace outboard::lab
