#pragma once
// Pieces every multi-threaded server of ours shares (serve's HttpServer, the gateway's
// ProxyServer): one acceptor per event loop on one port, and waiting out a drain.
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace outboard::io {

// Opens, binds (SO_REUSEADDR + SO_REUSEPORT, so each worker thread can hold its own acceptor on
// the same port and the kernel spreads connections) and listens. Returns the bound port (the
// kernel's pick when `port` is 0). Throws std::runtime_error naming the address on failure.
std::uint16_t listen_reuseport(boost::asio::ip::tcp::acceptor& acceptor, std::string const& address,
                               std::uint16_t port);

// Polls (every 5 ms: drains are rare) until `open` reaches zero or the deadline passes.
// True when it reached zero.
bool wait_for_zero(std::atomic<int> const& open, core::Millis deadline);

}  // namespace outboard::io
