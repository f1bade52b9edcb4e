#pragma once
// Time is passed in, never read from a global, so expiry logic is tested without sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace outboard::core {

using Millis = std::chrono::milliseconds;

// Wall-clock milliseconds since the Unix epoch: what TTLs and session timestamps are stored in,
// so that several processes (and several hosts) agree on them.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override;
};

// A clock tests move by hand. Thread-safe, because store worker threads read it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void advance(Millis by) { now_ += by.count(); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace outboard::core
