#pragma once
// Runs blocking work (SQLite statements, file I/O, password hashing) on a thread pool and resumes
// the awaiting coroutine on its own executor, so an event loop never blocks.
//
// g++ 12 bug, seen here as "free(): invalid pointer": a temporary lambda (or aggregate) with
// non-trivial members written inside a co_await expression is destroyed twice. Name it first:
//   auto work = [s = std::move(s)] { ... };
//   auto r = co_await offload(pool, std::move(work));
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace outboard::core {

// `work` runs on one of the pool's threads; its result is handed back on the caller's executor.
// Ownership: `work` is moved into the pool task; it must not refer to the caller's stack.
template <class Work>
auto offload(boost::asio::thread_pool& pool, Work work)
    -> boost::asio::awaitable<std::invoke_result_t<Work&>> {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<Work&>;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [&pool](auto handler, Work w) {
        auto home = asio::get_associated_executor(handler);
        auto guard = asio::make_work_guard(home);  // keeps the caller's event loop alive meanwhile
        asio::post(pool, [handler = std::move(handler), w = std::move(w), guard = std::move(guard)]() mutable {
          R result = w();
          auto target = guard.get_executor();
          // The guard travels back with the result and is released on the caller's own thread:
          // after this post the pool thread holds nothing of the caller's event loop, which may
          // then be destroyed as soon as the result is in.
          asio::post(target, [handler = std::move(handler), result = std::move(result),
                              guard = std::move(guard)]() mutable {
            std::move(handler)(std::move(result));
            guard.reset();
          });
        });
      },
      asio::use_awaitable, std::move(work));
}

}  // namespace outboard::core
