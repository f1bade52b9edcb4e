#pragma once
// Bytes a TCP connection moved, as the kernel counts them (TCP_INFO): payload received, and
// payload sent less what had to be sent again. Exact without touching any read or write of the
// data plane; the cost is one getsockopt per request per connection.
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

// One connection's meter: each account() adds what the connection moved since the last one.
// Used on one thread (the connection's), so it needs no lock; the counters are shared atomics.
class TrafficMeter {
 public:
  void account(int fd, std::atomic<std::uint64_t>& received, std::atomic<std::uint64_t>& sent);

 private:
  TcpBytes counted_;
};

}  // namespace outboard::gateway
