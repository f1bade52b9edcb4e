#include "lab/modes.hpp"

namespace outboard::lab {
namespace {

// A design whose servers each keep their own rooms, and the gateway policy its game run uses.
ModeSpec rooms_in_memory(ModeSpec mode, std::string game_policy, std::string game_hash_key = "") {
  mode.game = Game::local;
  mode.game_loss_bound_ms = 0;  // nothing is promised: every acknowledged move lost counts
  mode.game_policy = std::move(game_policy);
  mode.game_hash_key = std::move(game_hash_key);
  return mode;
}

ModeSpec actors(std::string name, std::string description, Game game, std::int64_t loss_bound_ms) {
  ModeSpec mode{std::move(name), std::move(description), "round_robin", false, false};
  mode.game = game;
  mode.game_loss_bound_ms = loss_bound_ms;
  // The gateway hashes a room's path as serve places it (rendezvous over the same addresses):
  // its players reach the owner directly, and a server relays only while views differ.
  mode.game_policy = "rendezvous";
  mode.game_hash_key = "path";
  return mode;
}

}  // namespace

std::string_view to_string(Game game) {
  switch (game) {
    case Game::local: return "local";
    case Game::checkpointed: return "checkpointed";
    case Game::journaled: return "journaled";
  }
  return "checkpointed";
}

std::vector<ModeSpec> const& known_modes() {
  static std::vector<ModeSpec> const modes{
      rooms_in_memory(
          {"stateful",
           "sessions in each server's memory, uploads on its own disk, chat broadcast in-process, game rooms in memory; round robin",
           "round_robin", true, true, true, false, Realtime::in_process},
          "round_robin"),
      rooms_in_memory({"sticky", "as stateful, but the gateway pins each browser to one server with a cookie (a game room: a hash of its path)",
                       "cookie_sticky", true, true, true, false, Realtime::in_process},
                      "consistent_hash", "path"),
      rooms_in_memory({"hashed", "as stateful, but the gateway routes each device by a consistent hash (Maglev) of its X-Device header (a game room: of its path)",
                       "consistent_hash", true, true, true, false, Realtime::in_process},
                      "consistent_hash", "path"),
      {"stateless", "sessions, data, uploads, chat rooms (resumable) and jobs (fenced) in the shared store; round robin",
       "round_robin", false, false},
      {"pubsub", "as stateless, but chat is fire-and-forget fan-out: no history, no replay on rejoin, no dedupe",
       "round_robin", false, false, true, false, Realtime::pubsub},
      {"retry-unsafe", "as stateless, but the servers ignore Idempotency-Key: a write delivered twice is made twice",
       "round_robin", false, false, false},
      {"jwt", "as stateless, but users log in for a short-lived JWT access token and a rotating refresh token, not a session cookie",
       "round_robin", false, false, true, true},
      {"naive", "as stateless, but each server keeps its own in-process job queue and runs every scheduled tick itself",
       "round_robin", false, false, true, false, Realtime::resumable, Jobs::in_process},
      {"locked", "as stateless, but jobs and ticks run under a lease lock without fencing: a paused holder still writes",
       "round_robin", false, false, true, false, Realtime::resumable, Jobs::lease_unfenced},
      actors("actors", "rooms are actors: one owner under a fenced lease, checkpointed every 2 s", Game::checkpointed,
             kCheckpointedLossBoundMs),
      actors("actors-journal", "as actors, plus every move journaled before its acknowledgement", Game::journaled, 0),
  };
  return modes;
}

std::optional<ModeSpec> find_mode(std::string_view name) {
  for (auto const& m : known_modes()) {
    if (m.name == name) return m;
  }
  return std::nullopt;
}

std::string mode_names() {
  std::string out;
  for (auto const& m : known_modes()) out += (out.empty() ? "" : ", ") + m.name;
  return out;
}

}  // namespace outboard::lab
