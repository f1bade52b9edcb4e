#pragma once
// The request-body deadline: a body must keep up a minimum average rate, so a client sending a
// byte now and then (slow POST, "R-U-Dead-Yet") cannot hold a connection and a backend slot.
// After `grace` from the end of the header, at least `min_rate` bytes per second on average
// must have arrived: with n bytes in, the gateway waits for more until
//   start + grace + n / min_rate
// and then answers 408 and closes. min_rate 0: no rate, only timeouts.idle_ms between pieces.
// Pure: times in, a time out.
#include <chrono>
#include <cstdint>

#include "core/clock.hpp"

namespace outboard::gateway {

struct BodyPace {
  using time_point = std::chrono::steady_clock::time_point;
  time_point start;
  core::Millis grace{0};
  std::uint64_t min_rate = 0;  // bytes per second; 0: off
  std::uint64_t received = 0;
  static constexpr double kMaxAllowanceSeconds = 1e6;

  // The latest time the next body bytes may arrive by; time_point::max() when the rate is off.
  time_point deadline() const {
    if (min_rate == 0) return time_point::max();
    double seconds = static_cast<double>(received) / static_cast<double>(min_rate);
    if (seconds > kMaxAllowanceSeconds) return time_point::max();  // no overflow of the clock's ticks
    auto allowance = std::chrono::duration_cast<time_point::duration>(std::chrono::duration<double>(seconds));
    return start + grace + allowance;
  }
};

}  // namespace outboard::gateway
