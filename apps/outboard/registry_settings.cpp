#include "registry_settings.hpp"

namespace outboard::app {
namespace {

std::optional<std::string> check_url(std::string const& url) {
  if (url.empty()) return std::nullopt;
  std::string error;
  if (!registry::parse_etcd_url(url, error)) return "'" + url + "': " + error;
  return std::nullopt;
}

std::optional<std::string> check_prefix(std::string const& prefix) {
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() != '/') return "must start and end with '/'";
  return std::nullopt;
}

std::vector<registry::Endpoint> endpoints(std::string const& url) {
  std::string error;
  return *registry::parse_etcd_url(url, error);  // checked when declared
}

}  // namespace

void declare_registry(core::Settings& s, RegistrySettings& v, RegistryRole role) {
  s.add_string("registry.url", v.url, "--registry",
               role == RegistryRole::serve ? "etcd://HOST:PORT[,HOST:PORT...]: register this server there (empty: no)"
                                           : "etcd://HOST:PORT[,HOST:PORT...]: learn the backends there too (empty: no)",
               check_url);
  s.add_string("registry.prefix", v.prefix, "--registry-prefix", "the keys of the members, one per server", check_prefix);
  s.add_int("registry.timeout_ms", v.timeout_ms, 1, 60'000, "--registry-timeout-ms", "one call to etcd");
  if (role == RegistryRole::serve) {
    s.add_string("registry.advertise", v.advertise, "--registry-advertise",
                 "host:port gateways reach this server on (default: the listen address and port)",
                 [](std::string const& a) -> std::optional<std::string> {
                   if (a.empty() || registry::parse_host_port(a)) return std::nullopt;
                   return "'" + a + "' is not host:port";
                 });
    s.add_int("registry.ttl_s", v.ttl_s, 2, 3600, "--registry-ttl-s",
              "the entry's lease: a dead server leaves the registry this long after its last keep-alive");
    s.add_int("registry.deregister_delay_ms", v.deregister_delay_ms, 0, 600'000, "--registry-deregister-delay-ms",
              "on SIGTERM, time between saying 'draining' and draining, for gateways to stop sending");
  } else {
    s.add_int("registry.poll_ms", v.poll_ms, 10, 600'000, "--registry-poll-ms",
              "between two full reads that confirm the view (its age restarts) and repair what a watch missed");
  }
}

std::optional<registry::RegistrationOptions> to_registration(RegistrySettings const& v, std::string const& listen,
                                                             std::uint16_t port) {
  if (v.url.empty()) return std::nullopt;
  registry::RegistrationOptions o;
  o.endpoints = endpoints(v.url);
  o.prefix = v.prefix;
  o.ttl_s = v.ttl_s;
  o.timeout = core::Millis(v.timeout_ms);
  std::string address = v.advertise;
  if (address.empty()) {
    if (listen == "0.0.0.0" || listen == "::" || listen.empty()) {
      throw core::ConfigError("registry.advertise: server.listen '" + listen +
                              "' is a wildcard address; give the host:port gateways reach this server on");
    }
    address = (listen.find(':') != std::string::npos ? "[" + listen + "]" : listen) + ":" + std::to_string(port);
  }
  auto host_port = registry::parse_host_port(address);
  if (!host_port) throw core::ConfigError("registry.advertise: '" + address + "' is not host:port");
  o.self.host = host_port->first;
  o.self.port = host_port->second;
  return o;
}

std::optional<registry::WatcherOptions> to_watcher(RegistrySettings const& v) {
  if (v.url.empty()) return std::nullopt;
  registry::WatcherOptions o;
  o.endpoints = endpoints(v.url);
  o.prefix = v.prefix;
  o.timeout = core::Millis(v.timeout_ms);
  o.poll = core::Millis(v.poll_ms);
  return o;
}

}  // namespace outboard::app
