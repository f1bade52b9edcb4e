#pragma once
// The actor counters of one process (outboard_actors_* on /metrics). Written on the host's thread
// and by connections on worker threads: relaxed atomics, summed by nobody (one set per process).
#include <atomic>
#include <cstdint>
#include <string>

namespace outboard::actors {

struct ActorMetrics {
  std::atomic<std::int64_t> active{0};          // rooms active here now
  std::atomic<std::int64_t> players{0};         // player connections served here now
  std::atomic<std::uint64_t> activations{0};    // rooms activated here (from a checkpoint or new)
  std::atomic<std::uint64_t> deactivations{0};  // put to sleep (idle or drain), checkpointed and released
  std::atomic<std::uint64_t> lease_losses{0};   // rooms given up: the lease was taken over or could not be confirmed
  std::atomic<std::uint64_t> moves_accepted{0};
  std::atomic<std::uint64_t> moves_refused{0};
  std::atomic<std::uint64_t> checkpoints{0};
  std::atomic<std::uint64_t> journal_appends{0};
  std::atomic<std::uint64_t> store_failures{0};  // lease, checkpoint or journal calls the store did not answer
  std::atomic<std::uint64_t> forwarded{0};       // player connections relayed to a room's owner

  void render(std::string& out) const;
};

}  // namespace outboard::actors
