#pragma once
// Bytes a TCP connection moved, as the kernel counts them (TCP_INFO): payload received, and
// payload sent less what had to be sent again. Exact without touching any read or write of the
// data plane. The cost is one getsockopt per connection per flush: a worker thread's meters are
// accounted together by its MeterRegistry once a second (only those that moved bytes since), and
// each once more when its connection closes, never per request (the profile showed two
// getsockopt per proxied request when it was). So the byte counters lag by up to a second.
#include <atomic>
#include <cstdint>
#include <optional>

namespace outboard::gateway {

struct TcpBytes {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
};

// The totals of socket `fd` so far; nullopt when it is not a TCP socket (or closed), or the
// kernel is older than 4.2 (no byte counts).
std::optional<TcpBytes> tcp_bytes(int fd);

class MeterRegistry;

// One connection's meter: each account() adds what the connection moved since the last one.
// Used on one thread (the connection's), so it needs no lock; the counters are shared atomics.
class TrafficMeter {
 public:
  TrafficMeter() = default;
  ~TrafficMeter() { unlink(); }
  TrafficMeter(TrafficMeter const&) = delete;
  TrafficMeter& operator=(TrafficMeter const&) = delete;

  void account(int fd, std::atomic<std::uint64_t>& received, std::atomic<std::uint64_t>& sent);

  // Lets `registry` account this meter (socket `fd`, into these counters) on its flushes, until
  // the meter is destroyed or detached. The caller accounts it once more at close (account()).
  void attach(MeterRegistry& registry, int fd, std::atomic<std::uint64_t>& received, std::atomic<std::uint64_t>& sent);
  // The connection moved bytes: the next flush accounts it. A store, no syscall.
  void touch() { dirty_ = true; }
  // Accounts now into the attached counters (at close).
  void account_attached();
  void detach() { unlink(); }

 private:
  friend class MeterRegistry;
  void unlink();
  TcpBytes counted_;
  int fd_ = -1;
  std::atomic<std::uint64_t>* received_ = nullptr;
  std::atomic<std::uint64_t>* sent_ = nullptr;
  bool dirty_ = false;
  TrafficMeter* prev_ = nullptr;
  TrafficMeter* next_ = nullptr;
};

// A worker thread's attached meters (an intrusive list: no allocation per connection).
class MeterRegistry {
 public:
  MeterRegistry() = default;
  ~MeterRegistry();
  MeterRegistry(MeterRegistry const&) = delete;
  MeterRegistry& operator=(MeterRegistry const&) = delete;
  // Accounts every meter touched since the last flush.
  void flush();

 private:
  friend class TrafficMeter;
  TrafficMeter head_;  // sentinel
};

}  // namespace outboard::gateway
