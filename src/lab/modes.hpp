#pragma once
// The designs the lab compares. A mode is only data: how each `outboard serve` keeps its state
// and how the gateway routes, and whether the servers deduplicate retried writes. New modes (jwt, ...) join by adding a row to known_modes().
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::lab {

struct ModeSpec {
  std::string name;
  std::string description;
  std::string policy;            // the gateway's balancing policy
  bool sessions_in_memory = false;  // --sessions memory:// (each server its own)
  bool blobs_on_local_disk = false; // each server its own upload directory, gone with the server
  bool deduplicates = true;         // false: the servers ignore Idempotency-Key (idempotency.enabled = false)
  bool tokens = false;              // users log in for JWT access + refresh tokens (serve --auth jwt)
};

std::vector<ModeSpec> const& known_modes();
std::optional<ModeSpec> find_mode(std::string_view name);
// "stateful, sticky, stateless, retry-unsafe" for error messages and --help.
std::string mode_names();

}  // namespace outboard::lab
