#pragma once
// sqlite://PATH's job queue: across the processes of one host, in the store's own file. A job is
// a row of the `jobs` table; a claim is one conditional UPDATE ... RETURNING inside the write
// transaction that also writes the claim's fence key to the store's keyspace, so a handler's
// commit_if sees the new fence the moment the claim returns.
#include <memory>
#include <string>

#include "state/job_queue.hpp"

namespace outboard::state {

// Opens (creating if needed) the file, the store's schema and the jobs table; throws
// std::runtime_error naming the path if it cannot, std::invalid_argument without a clock. One
// queue shared by every worker thread; statements run on its own small thread pool.
std::unique_ptr<JobQueueProvider> make_sqlite_job_queue(std::string const& path, StoreOptions const& options,
                                                        JobQueueOptions const& queue_options);

}  // namespace outboard::state
