#pragma once
// When the lab stops waiting for what is still owed after the users stopped (chat messages on
// their way, receipts not final yet): once nothing is owed (the caller's test), or once what is
// owed has not gone down for `quiet_ms`, and at most `cap_ms` after the phase began. A sanitized
// build on a loaded machine delivers late, not never: only a stall counts against a design.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace outboard::lab {

class SettleBound {
 public:
  SettleBound(std::int64_t now_ms, std::int64_t quiet_ms, std::int64_t cap_ms)
      : start_ms_(now_ms), progress_ms_(now_ms), quiet_ms_(quiet_ms), cap_ms_(cap_ms) {}

  // Whether to stop waiting, `owed` being what is owed at `now_ms`. Progress is any fall from the
  // previous look: what is owed may also rise meanwhile (an acknowledged resend is owed to every
  // member of its room), so a fall below some earlier low would miss a slow, steady delivery.
  bool over(std::size_t owed, std::int64_t now_ms) {
    if (last_ && owed < *last_) progress_ms_ = now_ms;
    last_ = owed;
    return now_ms - progress_ms_ >= quiet_ms_ || now_ms - start_ms_ >= cap_ms_;
  }

 private:
  std::int64_t start_ms_;
  std::int64_t progress_ms_;
  std::int64_t quiet_ms_;
  std::int64_t cap_ms_;
  std::optional<std::size_t> last_;
};

}  // namespace outboard::lab
