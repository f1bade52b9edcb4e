#include "lab/process_wait.hpp"

#include <signal.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

namespace outboard::lab {
namespace asio = boost::asio;
namespace {

ClusterError start_failure(std::string const& what, ChildProcess& process) {
  return ClusterError(fmt::format("{} did not start (pid {}); the end of {}:\n{}", what, process.pid(),
                                  process.log_file().string(), log_tail(process.log_file())));
}

}  // namespace

asio::awaitable<void> sleep_for(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> wait_ready(std::string what, ChildProcess& process, std::function<asio::awaitable<bool>()> ready) {
  auto deadline = std::chrono::steady_clock::now() + kReadyDeadline;
  for (;;) {
    if (!process.running()) throw start_failure(what, process);
    bool yes = co_await ready();
    if (yes) co_return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw ClusterError(fmt::format("{} (pid {}) was not ready after {} s; the end of {}:\n{}", what, process.pid(),
                                     kReadyDeadline.count(), process.log_file().string(), log_tail(process.log_file())));
    }
    co_await sleep_for(kPollEvery);
  }
}

asio::awaitable<void> stop_gracefully(ChildProcess& process, std::int64_t grace_ms) {
  process.signal(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (process.running() && std::chrono::steady_clock::now() < deadline) co_await sleep_for(kPollEvery);
  process.kill_now();
}

}  // namespace outboard::lab
