#pragma once
// redis-cluster://: the job queue on a Redis Cluster (docs/STATE.md, "Job queues on a cluster").
// Split by slot: everything that decides a job (its hash and its fence key, both tagged {<id>})
// changes in one script on the job's slot; each type's index (waiting / running / dead sorted
// sets, tagged {<type>}) in scripts on the type's slot. A claim takes an id from the index, then
// claims the job on its slot; the job's slot is the truth, the index a hint that every claim
// and every dead-letter listing checks against it and mends.
#include <memory>

#include "state/job_queue.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<JobQueueProvider> make_redis_cluster_job_queue(StoreUrl const& url, StoreOptions const& options,
                                                               JobQueueOptions const& queue_options);

}  // namespace outboard::state
