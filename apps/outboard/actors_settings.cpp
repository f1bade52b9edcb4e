#include "actors_settings.hpp"

namespace outboard::app {

namespace {

std::optional<std::string> check_mode(std::string const& mode) {
  if (mode == "local" || mode == "checkpointed" || mode == "journaled") return std::nullopt;
  return "'" + mode + "' is not a mode: local, checkpointed or journaled";
}

std::optional<std::string> check_address(std::string const& address) {
  if (address.empty()) return std::nullopt;
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return "'" + address + "' is not host:port";
  }
  return std::nullopt;
}

}  // namespace

void declare_actors(core::Settings& s, ActorsSettings& v) {
  s.add_bool("actors.enabled", v.enabled, "", "serve game rooms as actors on GET /rooms/{id}");
  s.add_string("actors.mode", v.mode, "",
               "local (each server its own rooms), checkpointed (one owner under a fenced lease) or journaled",
               check_mode);
  s.add_string("actors.advertise", v.advertise, "",
               "host:port other servers forward a room's players to (default: the listen address)", check_address);
  s.add_int("actors.lease_ttl_ms", v.lease_ttl_ms, 300, 600'000, "", "a room owner's lease; a dead owner's rooms wait this long");
  s.add_int("actors.heartbeat_ms", v.heartbeat_ms, 50, 60'000, "", "membership and lease renewals");
  s.add_int("actors.checkpoint_interval_ms", v.checkpoint_interval_ms, 10, 3'600'000, "",
            "how often an owner saves a changed room (the loss bound without a journal)");
  s.add_int("actors.idle_timeout_ms", v.idle_timeout_ms, 100, 86'400'000, "",
            "a room with no player for this long is checkpointed and released");
  s.add_int("actors.messages_per_second", v.messages_per_second, 1, 100'000, "", "per player connection (1008 beyond)");
}

std::optional<actors::ActorsConfig> to_actors_config(ActorsSettings const& v,
                                                     std::vector<std::string> const& allowed_origins) {
  if (!v.enabled) return std::nullopt;
  if (v.heartbeat_ms * 2 > v.lease_ttl_ms) {
    throw core::ConfigError("actors.heartbeat_ms (" + std::to_string(v.heartbeat_ms) +
                            ") must be at most half of actors.lease_ttl_ms (" + std::to_string(v.lease_ttl_ms) +
                            "): an owner renews its lease every heartbeat");
  }
  actors::ActorsConfig c;
  c.mode = v.mode == "local" ? actors::Mode::local : v.mode == "journaled" ? actors::Mode::journaled : actors::Mode::checkpointed;
  c.advertise = v.advertise;
  c.lease_ttl = core::Millis(v.lease_ttl_ms);
  c.heartbeat = core::Millis(v.heartbeat_ms);
  c.checkpoint_interval = core::Millis(v.checkpoint_interval_ms);
  c.idle_timeout = core::Millis(v.idle_timeout_ms);
  c.messages_per_second = static_cast<int>(v.messages_per_second);
  c.allowed_origins = allowed_origins;
  return c;
}

}  // namespace outboard::app
