#pragma once
// serve's `[actors]` settings (docs/ACTORS.md): declared on the command's Settings, turned into
// the runtime's ActorsConfig. Apart from serve_command.cpp to keep that file about serve.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "core/config.hpp"

namespace outboard::app {

struct ActorsSettings {
  bool enabled = false;
  std::string mode = "checkpointed";
  std::string advertise;  // empty: the listen address and port
  std::int64_t lease_ttl_ms = 3000;
  std::int64_t heartbeat_ms = 1000;
  std::int64_t checkpoint_interval_ms = 2000;
  std::int64_t idle_timeout_ms = 30'000;
  std::int64_t messages_per_second = 50;
};

void declare_actors(core::Settings& settings, ActorsSettings& values);
// nullopt when actors.enabled is false. Throws core::ConfigError for values that do not fit
// together. `allowed_origins` are realtime's (one list for both kinds of WebSocket).
std::optional<actors::ActorsConfig> to_actors_config(ActorsSettings const& values,
                                                     std::vector<std::string> const& allowed_origins);

}  // namespace outboard::app
