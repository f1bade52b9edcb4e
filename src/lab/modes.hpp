#pragma once
// The designs the lab compares. A mode is only data: how each `outboard serve` keeps its state
// and how the gateway routes, whether the servers deduplicate retried writes, how they fan out
// chat messages. New modes (jwt, pubsub, ...) join by adding a row to known_modes().
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::lab {

// What a design means for realtime (serve's [realtime], docs/REALTIME.md).
enum class Realtime {
  in_process,  // [realtime] url = "memory://": a broadcast inside each server; users on others never hear it
  pubsub,      // [realtime] resume = false: live fan-out through the store, no history, replay or dedupe
  resumable,   // serve's defaults: fan-out through the store, history replayed on rejoin, resends deduplicated
};

// How a design runs background jobs and scheduled ticks (serve's [jobs], docs/JOBS.md). Only the
// jobs differ: sessions and data are in the shared store in all three.
enum class Jobs {
  fenced,          // serve's defaults: a queue in the shared store, every commit guarded by the claim's fence
  lease_unfenced,  // [jobs] fencing = false: a lease lock without fencing (a paused holder still writes)
  in_process,      // [jobs] queue = "memory", fencing = false: each server its own queue and cron
};

struct ModeSpec {
  std::string name;
  std::string description;
  std::string policy;            // the gateway's balancing policy
  bool sessions_in_memory = false;  // --sessions memory:// (each server its own)
  bool blobs_on_local_disk = false; // each server its own upload directory, gone with the server
  bool deduplicates = true;         // false: the servers ignore Idempotency-Key (idempotency.enabled = false)
  bool tokens = false;              // users log in for JWT access + refresh tokens (serve --auth jwt)
  Realtime realtime = Realtime::resumable;
  Jobs jobs = Jobs::fenced;
};

std::vector<ModeSpec> const& known_modes();
std::optional<ModeSpec> find_mode(std::string_view name);
// "stateful, sticky, stateless, ..." for error messages and --help.
std::string mode_names();

}  // namespace outboard::lab
