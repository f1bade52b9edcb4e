#include "io/listener.hpp"

#include <boost/asio/io_context.hpp>
#include <dirent.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <thread>

namespace outboard::io {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string describe(tcp::endpoint const& endpoint) {
  auto const& ip = endpoint.address();
  std::string host = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

bool is_tcp_listener_on(int fd, tcp::endpoint const& wanted) {
  int listening = 0, type = 0;
  socklen_t size = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening != 1) return false;
  size = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM) return false;
  tcp::endpoint bound;
  socklen_t length = static_cast<socklen_t>(bound.capacity());
  if (::getsockname(fd, bound.data(), &length) != 0) return false;
  // A non-IP socket (AF_UNIX) never equals an IP endpoint; resize() refuses a foreign length.
  if (bound.data()->sa_family != wanted.data()->sa_family || length > bound.capacity()) return false;
  bound.resize(length);
  return bound == wanted;
}

// True when a socket of this process listens on exactly `endpoint`: the acceptors our own
// earlier worker threads opened. Reads /proc/self/fd; cost O(open fds), at start-up only.
bool this_process_listens_on(tcp::endpoint const& endpoint) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/self/fd"), &::closedir);
  if (!dir) return false;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    int fd = -1;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec != std::errc() || end != name.data() + name.size()) continue;  // "." and ".."
    if (is_tcp_listener_on(fd, endpoint)) return true;
  }
  return false;
}

// Whether anyone listens on `endpoint` (the probe: bound without SO_REUSEPORT, which no
// listener admits). SO_REUSEADDR as on the real socket, so connections of an earlier run in
// TIME_WAIT do not count.
bool address_taken(tcp::endpoint const& endpoint) {
  asio::io_context io;
  tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (ec) return false;  // let the real bind report it
  probe.set_option(asio::socket_base::reuse_address(true), ec);
  probe.bind(endpoint, ec);
  return ec == asio::error::address_in_use;
}

}  // namespace

std::uint16_t listen_reuseport(tcp::acceptor& acceptor, std::string const& address, std::uint16_t port,
                               bool share_with_other_processes) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("listen address '" + address + "' is not an IP address");
  tcp::endpoint endpoint(ip, port);
  // Port 0 is a fresh port the kernel picks: nobody else can hold it.
  if (port != 0 && !share_with_other_processes && address_taken(endpoint) && !this_process_listens_on(endpoint)) {
    throw std::runtime_error("cannot listen on " + describe(endpoint) +
                             ": the address is already in use by another process (to share a port on purpose, "
                             "for a seamless restart, start both processes with --reuse-port)");
  }
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acceptor.bind(endpoint, ec);
  if (ec == asio::error::address_in_use && share_with_other_processes) {
    throw std::runtime_error("cannot listen on " + describe(endpoint) +
                             ": the address is in use by a process that does not share it (only processes of "
                             "one user, all started with --reuse-port, can share a port)");
  }
  if (ec) throw std::runtime_error("cannot listen on " + describe(endpoint) + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor.local_endpoint().port();
}

std::optional<tcp::endpoint> parse_listen_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs its brackets: "[::1]:9100"
  }
  unsigned port = 0;
  auto [end, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (pec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(ip, static_cast<std::uint16_t>(port));
}

bool wait_for_zero(std::atomic<int> const& open, core::Millis deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (open.load() != 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace outboard::io
