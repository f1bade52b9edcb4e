#pragma once
// A Store that times every operation of another and counts its failures into this thread's
// metrics shard: what /metrics reports as store latency and errors by backend.
#include <memory>

#include "runtime/metrics.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

// `inner` is this thread's store; `shard` this thread's metrics; `store` the label's index.
std::shared_ptr<state::Store> instrument(std::shared_ptr<state::Store> inner, ServiceMetrics::Shard& shard,
                                         int store);

}  // namespace outboard::runtime
