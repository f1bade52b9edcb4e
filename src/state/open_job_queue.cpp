#include <stdexcept>

#include "state/job_queue.hpp"
#include "state/memory/memory_job_queue.hpp"
#include "state/postgres/pg_job_queue.hpp"
#include "state/redis/redis_job_queue.hpp"
#include "state/redis_cluster/cluster_job_queue.hpp"
#include "state/sqlite/sqlite_job_queue.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

std::unique_ptr<JobQueueProvider> open_job_queue(std::string_view url, StoreProvider& store,
                                                 StoreOptions const& options, JobQueueOptions const& queue_options) {
  auto parsed = parse_store_url(url);
  if (!parsed) throw std::invalid_argument(parsed.error().context);
  if (parsed->scheme == "memory") return make_memory_job_queue(store, options, queue_options);
  if (parsed->scheme == "sqlite") return make_sqlite_job_queue(parsed->path, options, queue_options);
  if (parsed->scheme == "redis") return make_redis_job_queue(*parsed, options, queue_options);
  if (parsed->scheme == "postgres") return make_postgres_job_queue(*parsed, options, queue_options);
  if (parsed->scheme == "redis-cluster") return make_redis_cluster_job_queue(*parsed, options, queue_options);
  throw std::invalid_argument("job queue URL '" + redact_store_url(url) + "': '" + parsed->scheme +
                              "' is a blob store scheme, it has no job queue");
}

}  // namespace outboard::state
