#pragma once
// The realtime counters of one process, in per-thread shards of relaxed atomics (a delivery
// touches only its own thread's cache line), summed when /metrics renders them.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::realtime {

// Why a WebSocket ended: the `reason` label of outboard_realtime_closed_total.
enum class CloseReason { client, drain, slow_consumer, too_big, protocol, invalid_payload, unsupported_data, idle, error };
inline constexpr std::size_t kCloseReasons = 9;
std::string_view to_string(CloseReason reason);

// Why a client message was refused (an `error` message, the connection stays).
enum class Refusal { bad_message, unknown_type, forbidden, not_joined, too_many_rooms, rate_limited, store_unavailable };
inline constexpr std::size_t kRefusals = 7;
std::string_view to_string(Refusal refusal);

class RealtimeMetrics {
 public:
  struct alignas(64) Shard {
    std::atomic<std::int64_t> open{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> received{0};   // client messages decoded
    std::atomic<std::uint64_t> stored{0};     // sends appended (duplicates not counted)
    std::atomic<std::uint64_t> delivered{0};  // `message` frames queued to clients, replays included
    std::atomic<std::uint64_t> replayed{0};   // of which read back from the history
    std::atomic<std::uint64_t> truncated{0};  // history_truncated reports
    std::array<std::atomic<std::uint64_t>, kCloseReasons> closed{};
    std::array<std::atomic<std::uint64_t>, kRefusals> refused{};
  };

  explicit RealtimeMetrics(int shards);
  Shard& shard(int index) { return *shards_.at(static_cast<std::size_t>(index)); }

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  // Prometheus text for every family, appended to `out`.
  void render(std::string& out) const;

 private:
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace outboard::realtime
