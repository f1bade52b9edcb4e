#pragma once
// memory://'s job queue: in this process only. Kept on purpose as the anti-pattern of issue 17:
// jobs are lost on a crash and never seen by another instance, which is what the lab shows.
#include <memory>

#include "state/job_queue.hpp"

namespace outboard::state {

// One queue shared by every worker thread (guarded by a mutex). Fences are written to `store`'s
// store (the process's one memory store, which must outlive the provider); times come from
// options.clock. Throws std::invalid_argument without a clock.
std::unique_ptr<JobQueueProvider> make_memory_job_queue(StoreProvider& store, StoreOptions const& options,
                                                        JobQueueOptions const& queue_options);

}  // namespace outboard::state
