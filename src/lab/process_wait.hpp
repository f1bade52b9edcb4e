#pragma once
// Waiting on the processes the lab starts: until one is ready (a probe says yes), or stopped.
// Shared by the outboard cluster and the etcd cluster.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include "lab/child_process.hpp"

namespace outboard::lab {

// A cluster that cannot start (a process exits, a port never answers): the message says which
// and carries the tail of its log.
class ClusterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Generous: under sanitizers a server takes a while to come up.
inline constexpr std::chrono::seconds kReadyDeadline{30};
inline constexpr std::chrono::milliseconds kPollEvery{25};

boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds how_long);

// Waits until `ready` says yes; throws ClusterError (naming `what`, with its log's tail) when the
// process dies or kReadyDeadline passes first.
boost::asio::awaitable<void> wait_ready(std::string what, ChildProcess& process,
                                        std::function<boost::asio::awaitable<bool>()> ready);

// SIGTERM, then up to `grace_ms` for a clean exit, then SIGKILL.
boost::asio::awaitable<void> stop_gracefully(ChildProcess& process, std::int64_t grace_ms);

}  // namespace outboard::lab
