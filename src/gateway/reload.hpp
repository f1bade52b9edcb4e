#pragma once
// What a SIGHUP does to the backends. The rule: a reload applies what changed IN THE FILE since it
// was last read, and nothing else, so what the admin API did survives unless the file itself
// changes that backend:
//   - a backend the new file adds joins (one the admin API added already stays, weight from the file);
//   - a backend the new file no longer lists is dropped (requests in flight to it finish);
//   - a weight the file changed is applied; one the file did not change stays as it is (the
//     admin API may have set it);
//   - a backend added through the admin API and not in the file stays, until removed through
//     the API; one the admin API removed stays removed while the file keeps listing it unchanged.
// Pure planning (plan_reload) and one atomic application to the pool (apply_reload).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gateway/backend_pool.hpp"

namespace outboard::gateway {

using BackendSpec = std::pair<BackendAddress, std::uint32_t>;

struct ReloadPlan {
  std::vector<BackendSpec> add;         // in the new file, not in the old one
  std::vector<std::string> drop;        // ids in the old file, not in the new one
  std::vector<BackendSpec> reweigh;     // in both, with a weight the file changed
};

ReloadPlan plan_reload(std::vector<BackendSpec> const& old_file, std::vector<BackendSpec> const& new_file);

struct WeightChange {
  std::string id;
  std::uint32_t from = 0;
  std::uint32_t to = 0;
};

// What the pool did, for the log: each list names backends by id.
struct ReloadOutcome {
  std::vector<std::string> added;
  std::vector<std::string> adopted;      // the file now lists a backend the admin API had added
  std::vector<std::string> dropped;
  std::vector<WeightChange> reweighed;
  std::vector<std::string> kept_from_admin;  // members the new file does not list: added through the API
  std::vector<std::string> not_restored;     // listed by both files but removed through the API
};

// Applies `plan` to the pool as one membership change. `new_file` is the file's whole list.
ReloadOutcome apply_reload(BackendPool& pool, ReloadPlan const& plan, std::vector<BackendSpec> const& new_file);

}  // namespace outboard::gateway
