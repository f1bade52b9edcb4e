#pragma once
// Runs coroutines on a test's io_context until their results are in. Runs handler by handler
// rather than io.run(), because a store may keep a background coroutine (a redis reader) alive.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <vector>

namespace outboard::testing {

template <class T>
void run_until_ready(boost::asio::io_context& io, std::future<T>& future) {
  io.restart();
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one_for(std::chrono::milliseconds(50)) == 0) io.restart();
  }
}

template <class T>
T run_coro(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  auto future = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  run_until_ready(io, future);
  return future.get();
}

}  // namespace outboard::testing
