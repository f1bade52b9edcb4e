#pragma once
#include <cstdint>

namespace outboard::lab {

// A loopback port nobody listens on right now, for a child process (a server, redis, etcd,
// postgres) told to listen on it. Another process could still take it first; a server that fails
// to bind is then started again on another.
//
// Drawn at random from BELOW the kernel's ephemeral range (net.ipv4.ip_local_port_range), each
// candidate checked with a bind. Inside that range every outgoing connection on the machine takes
// its local port, so a port from bind(0) could be taken by any client's connect() between our
// check and the child's bind (CI saw an etcd member fail with "address already in use"). Below
// it, only other listeners compete. A port handed out recently by this process is not handed out
// again, nor one still in use by connections in TIME_WAIT (port_unused). When the range leaves no
// room below it, bind(0) it is.
std::uint16_t free_port();

// Whether a listener could take `port` on loopback now without SO_REUSEADDR: nothing listens on it
// and no connection of a recent listener lingers there (TIME_WAIT). A server killed with
// connections open leaves some for a minute, so a port the lab will restart it on stays taken
// for every other process's free_port(); the restarted server itself binds with SO_REUSEADDR.
bool port_unused(std::uint16_t port);

}  // namespace outboard::lab
