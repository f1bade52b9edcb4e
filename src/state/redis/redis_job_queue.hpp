#pragma once
// redis://: the job queue in Redis (docs/JOBS.md), one Lua script per claim and per completion.
#include <memory>

#include "state/job_queue.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<JobQueueProvider> make_redis_job_queue(StoreUrl const& url, StoreOptions const& options,
                                                       JobQueueOptions const& queue_options);

}  // namespace outboard::state
