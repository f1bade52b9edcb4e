#pragma once
// The registry as one more source of the gateway's truth (docs/TRUTH.md), beside the static
// config and the admin API. Each view the watcher publishes is applied to the pool as one
// membership change:
//   - a member the pool lacks joins (the source then owns it), with the entry's weight;
//   - a member that left the view is dropped, if this source added it (static or admin-API
//     backends are never dropped by the registry);
//   - an entry's state sets the backend's draining flag (so a registered server that says
//     "draining" gets no new requests, whichever source added it).
// Health checks and outlier ejection keep applying on top: the registry says who exists, the
// gateway still decides who is fit.
#include <set>
#include <string>

#include "gateway/backend_pool.hpp"
#include "registry/watcher.hpp"

namespace outboard::gateway {

class RegistrySource {
 public:
  explicit RegistrySource(BackendPool& pool) : pool_(pool) {}
  // Called on the watcher's thread only.
  void apply(registry::View const& view);

 private:
  BackendPool& pool_;
  std::set<std::string> owned_;  // ids of the backends this source added
};

}  // namespace outboard::gateway
