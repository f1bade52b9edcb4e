#pragma once
// postgres://'s job queue: across hosts, in the store's own database. A job is a row of
// outboard_jobs (migration 2, pg_jobs_sql.cpp); every call is one statement (a server-side
// function or one SELECT), so one round trip and one transaction. A claim picks its row with
// FOR UPDATE SKIP LOCKED and writes the fence key into the store's keyspace in the same
// transaction; leases and delays run on the database's clock.
#include <memory>

#include "state/job_queue.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Runs the schema migrations (blocking, start-up only; throws std::runtime_error naming the URL
// without its password when the database cannot be reached or is newer than this build). Each
// worker thread then gets its own asynchronous connection, made on its first call.
std::unique_ptr<JobQueueProvider> make_postgres_job_queue(StoreUrl const& url, StoreOptions const& options,
                                                          JobQueueOptions const& queue_options);

}  // namespace outboard::state
