#pragma once
// Pieces every multi-threaded server of ours shares (serve's HttpServer, the gateway's
// ProxyServer): one acceptor per event loop on one port, and waiting out a drain.
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace outboard::io {

// Opens, binds (SO_REUSEADDR + SO_REUSEPORT, so each worker thread can hold its own acceptor on
// the same port and the kernel spreads connections) and listens. Returns the bound port (the
// kernel's pick when `port` is 0). Call it once per worker thread, passing the port the first
// call returned. Throws std::runtime_error naming the address on failure.
//
// SO_REUSEPORT alone would also let a second process of the same user join the port silently and
// take half its connections (a stale instance hiding behind a healthy one). So unless
// `share_with_other_processes`, the port must be free or held by a listener of this very process
// (the threads before this one): that is checked by first binding a probe socket without
// SO_REUSEPORT (EADDRINUSE: someone listens there) and, when taken, looking for a listening
// socket of our own on the same address. The probe is closed before the real bind, so a process
// that binds with SO_REUSEPORT in that instant (microseconds) could still join: a race accepted
// at start-up, where the alternative is a port nobody can share even on purpose.
// `share_with_other_processes` (serve's --reuse-port) skips the check: two processes started with
// it share the port, for seamless restarts (start the new one, then SIGTERM the old one).
std::uint16_t listen_reuseport(boost::asio::ip::tcp::acceptor& acceptor, std::string const& address,
                               std::uint16_t port, bool share_with_other_processes = false);

// "127.0.0.1:9100" or "[::1]:9100" as an endpoint; nullopt unless an IP address and a port
// (1-65535) are given.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen_endpoint(std::string_view text);

// Polls (every 5 ms: drains are rare) until `open` reaches zero or the deadline passes.
// True when it reached zero.
bool wait_for_zero(std::atomic<int> const& open, core::Millis deadline);

}  // namespace outboard::io
