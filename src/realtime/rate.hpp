#pragma once
// A token bucket: `rate` per second, holding at most `burst`. Per connection, on its thread.
#include <algorithm>
#include <cstdint>

namespace outboard::realtime {

class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // True (and one token spent) when a message may pass at `now_ms`.
  bool take(std::int64_t now_ms) {
    if (last_ms_ >= 0) {
      auto elapsed = std::max<std::int64_t>(0, now_ms - last_ms_);  // a clock stepped back refills nothing
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(elapsed) * rate_ / 1000.0);
    }
    last_ms_ = std::max(last_ms_, now_ms);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  std::int64_t last_ms_ = -1;
};

}  // namespace outboard::realtime
