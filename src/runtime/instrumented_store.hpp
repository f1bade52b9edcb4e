#pragma once
// A Store that times every operation of another and counts its failures into this thread's
// metrics shard (what /metrics reports as store latency and errors by backend), and tells the
// store's StoreHealth whether it answered (what logs its loss and return once each).
#include <memory>

#include "runtime/metrics.hpp"
#include "runtime/store_health.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

// `inner` is this thread's store; `shard` this thread's metrics; `store` the label's index;
// `health` the service's view of that store (outlives the returned store).
std::shared_ptr<state::Store> instrument(std::shared_ptr<state::Store> inner, ServiceMetrics::Shard& shard,
                                         int store, StoreHealth& health);

}  // namespace outboard::runtime
