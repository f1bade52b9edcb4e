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

// A work guard on the executor `handler` belongs to (its caller's event loop): holding it keeps
// that loop running until the result is handed back.
template <class Handler>
auto guard_home_of(Handler const& handler) {
  return boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
}

// Hands `result` to `handler` on the guard's executor (the caller's own thread). The guard travels
// with the result and is released there: after this post the current thread holds nothing of the
// caller's event loop, which may then be destroyed as soon as the result is in.
template <class Handler, class Guard, class R>
void hand_back(Handler handler, Guard guard, R result) {
  auto home = guard.get_executor();
  boost::asio::post(home, [handler = std::move(handler), result = std::move(result), guard = std::move(guard)]() mutable {
    std::move(handler)(std::move(result));
    guard.reset();
  });
}

// `work` runs on one of the pool's threads; its result is handed back on the caller's executor.
// Ownership: `work` is moved into the pool task; it must not refer to the caller's stack.
template <class Work>
auto offload(boost::asio::thread_pool& pool, Work work)
    -> boost::asio::awaitable<std::invoke_result_t<Work&>> {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<Work&>;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [&pool](auto handler, Work w) {
        auto guard = guard_home_of(handler);  // keeps the caller's event loop alive meanwhile
        asio::post(pool, [handler = std::move(handler), w = std::move(w), guard = std::move(guard)]() mutable {
          hand_back(std::move(handler), std::move(guard), w());
        });
      },
      asio::use_awaitable, std::move(work));
}

}  // namespace outboard::core
