#pragma once
// The `[registry]` settings of serve and gateway (docs/TRUTH.md): where the shared truth lives
// (etcd), and how each side uses it. Off unless registry.url is set.
#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "registry/registration.hpp"
#include "registry/watcher.hpp"

namespace outboard::app {

struct RegistrySettings {
  std::string url;  // etcd://host:port[,host:port...]; empty: no registry
  std::string prefix = "/outboard/members/";
  std::int64_t timeout_ms = 1000;
  // serve
  std::string advertise;  // host:port gateways reach this server on; default listen:port
  std::int64_t ttl_s = 10;
  std::int64_t deregister_delay_ms = 1000;
  // gateway
  std::int64_t poll_ms = 1000;
};

enum class RegistryRole { serve, gateway };

void declare_registry(core::Settings& settings, RegistrySettings& values, RegistryRole role);

// Both nullopt when registry.url is empty. `listen` and `port` are serve's own, for the default
// advertised address; a wildcard listen address needs registry.advertise (ConfigError).
std::optional<registry::RegistrationOptions> to_registration(RegistrySettings const& values, std::string const& listen,
                                                             std::uint16_t port);
std::optional<registry::WatcherOptions> to_watcher(RegistrySettings const& values);

}  // namespace outboard::app
