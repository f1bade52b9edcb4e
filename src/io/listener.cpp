#include "io/listener.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace outboard::io {

std::uint16_t listen_reuseport(boost::asio::ip::tcp::acceptor& acceptor, std::string const& address,
                               std::uint16_t port) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("listen address '" + address + "' is not an IP address");
  asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acceptor.bind(endpoint, ec);
  if (ec) throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor.local_endpoint().port();
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
