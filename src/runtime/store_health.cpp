#include "runtime/store_health.hpp"

#include <spdlog/spdlog.h>

#include "state/store_url.hpp"

namespace outboard::runtime {

StoreHealth::Change StoreHealth::observe(bool& seen_up, core::Error const* error) {
  bool answered = error == nullptr || !error->transient();
  if (answered == seen_up) return Change::none;
  seen_up = answered;
  if (!answered) {
    if (!up_.exchange(false)) return Change::none;  // another thread logged it already
    spdlog::warn("{} unreachable: {} (logged once; requests that need it answer 503 until it is back)", label_,
                 error->describe());
    return Change::lost;
  }
  if (up_.exchange(true)) return Change::none;
  spdlog::info("{} reachable again", label_);
  return Change::regained;
}

std::string store_location(std::string const& url) {
  auto parsed = state::parse_store_url(url);
  if (!parsed) return "store";
  if (parsed->scheme == "redis") {
    return "redis " + parsed->host + ":" + std::to_string(parsed->port) + "/" + std::to_string(parsed->database);
  }
  if (parsed->scheme == "memory") return "memory";
  if (parsed->scheme == "sqlite") return "sqlite " + parsed->path;
  return parsed->scheme + " " + state::redact_store_url(url);
}

}  // namespace outboard::runtime
