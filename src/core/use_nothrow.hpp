#pragma once
// The completion token of our coroutines: co_await yields (error_code, results...) as a tuple
// instead of throwing, so every I/O error is handled where it happens, as a value.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace outboard::core {

inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace outboard::core
