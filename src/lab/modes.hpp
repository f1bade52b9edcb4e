#pragma once
// The designs the lab compares. A mode is only data: how each `outboard serve` keeps its state
// and how the gateway routes, whether the servers deduplicate retried writes, how they fan out
// chat messages. New modes (jwt, pubsub, ...) join by adding a row to known_modes().
#include <cstdint>
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

// How a design keeps game rooms (serve's `[actors] mode`, docs/ACTORS.md), for the game journey.
enum class Game {
  local,         // "local": each server keeps the rooms its players reach in its own memory: no lease,
                 // no checkpoint, no forwarding (a room met on two servers is two rooms)
  checkpointed,  // "checkpointed": one owner per room under a fenced lease, checkpointed every 2 s
  journaled,     // "journaled": as checkpointed, plus every move journaled before its acknowledgement
};
// The word serve's `[actors] mode` takes for it.
std::string_view to_string(Game game);

// What a checkpointed room may lose at its owner's death, as a span of moves: serve's bound,
// checkpoint_interval + 2 ticks (docs/ACTORS.md, "What a crash loses"), with the lab's 2 s
// checkpoints and serve's 1 s tick. Beyond it an owner refuses moves until a checkpoint lands.
constexpr std::int64_t kCheckpointedLossBoundMs = 2000 + 2 * 1000;

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
  Game game = Game::checkpointed;
  // How the gateway routes a game run (its `pool.policy` and `pool.hash_key`, docs/GATEWAY.md):
  // the shop's stickiness cookie means nothing to a room, so sticky and hashed meet a room's
  // players on one server by hashing the path (`/rooms/{id}`) instead.
  std::string game_policy = "round_robin";
  std::string game_hash_key = "";  // "" for a policy without a key
  // The design's promise on acknowledged moves lost (GameLedger): lost moves acknowledged at least
  // this long before the newest one lost with them are beyond it. 0: no loss is promised.
  std::int64_t game_loss_bound_ms = kCheckpointedLossBoundMs;
};

std::vector<ModeSpec> const& known_modes();
std::optional<ModeSpec> find_mode(std::string_view name);
// "stateful, sticky, stateless, ..." for error messages and --help.
std::string mode_names();

}  // namespace outboard::lab
