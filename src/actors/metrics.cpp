#include "actors/metrics.hpp"

#include <fmt/format.h>

namespace outboard::actors {

void ActorMetrics::render(std::string& out) const {
  auto gauge = [&out](char const* name, char const* help, std::int64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
  };
  auto counter = [&out](char const* name, char const* help, std::atomic<std::uint64_t> const& v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v.load(std::memory_order_relaxed));
  };
  gauge("outboard_actors_active", "game rooms active on this server", active.load(std::memory_order_relaxed));
  gauge("outboard_actors_players", "player connections served here", players.load(std::memory_order_relaxed));
  counter("outboard_actors_activations_total", "rooms activated here", activations);
  counter("outboard_actors_deactivations_total", "rooms checkpointed and released here", deactivations);
  counter("outboard_actors_lease_losses_total", "rooms given up: lease taken over or unconfirmed", lease_losses);
  counter("outboard_actors_moves_accepted_total", "moves accepted", moves_accepted);
  counter("outboard_actors_moves_refused_total", "moves refused", moves_refused);
  counter("outboard_actors_checkpoints_total", "checkpoints written", checkpoints);
  counter("outboard_actors_journal_appends_total", "moves journaled before their acknowledgement", journal_appends);
  counter("outboard_actors_store_failures_total", "lease, checkpoint or journal calls the store did not answer",
          store_failures);
  counter("outboard_actors_forwarded_total", "player connections relayed to a room's owner", forwarded);
}

}  // namespace outboard::actors
