#include "lab/modes.hpp"

namespace outboard::lab {

std::vector<ModeSpec> const& known_modes() {
  static std::vector<ModeSpec> const modes{
      {"stateful", "sessions in each server's memory, uploads on its own disk, chat broadcast in-process; round robin",
       "round_robin", true, true, true, false, Realtime::in_process},
      {"sticky", "as stateful, but the gateway pins each browser to one server with a cookie", "cookie_sticky", true,
       true, true, false, Realtime::in_process},
      {"hashed", "as stateful, but the gateway routes each device by a consistent hash (Maglev) of its X-Device header",
       "consistent_hash", true, true, true, false, Realtime::in_process},
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
