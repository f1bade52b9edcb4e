#pragma once
// The SQL text of the job queue's migration (pg_jobs_sql.cpp), listed by migrations().

namespace outboard::state {

// Migration 2: the jobs table and one function per JobQueue call (pg_job_queue.cpp).
char const* jobs_migration_sql();

}  // namespace outboard::state
