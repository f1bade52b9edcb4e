// redis://'s job queue (docs/JOBS.md). Stub until the scripts land: the provider exists so that
// open_job_queue.cpp links; creating it throws.
#include "state/redis/redis_job_queue.hpp"

#include <stdexcept>

namespace outboard::state {

std::unique_ptr<JobQueueProvider> make_redis_job_queue(StoreUrl const& /*url*/, StoreOptions const& /*options*/,
                                                       JobQueueOptions const& /*queue_options*/) {
  throw std::invalid_argument("redis job queue: not yet implemented");
}

}  // namespace outboard::state
