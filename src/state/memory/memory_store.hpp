#pragma once
// memory://: the state lives inside this process. Kept on purpose as the stateful anti-pattern:
// a second instance cannot see it and a restart loses it, which is what the lab shows.
#include <memory>

#include "state/store.hpp"

namespace outboard::state {

// One store shared by every worker thread of the process (guarded by a mutex).
std::unique_ptr<StoreProvider> make_memory_provider(StoreOptions const& options);

}  // namespace outboard::state
