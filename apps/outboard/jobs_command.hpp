#pragma once
// `outboard jobs`: the job queue's operations, run against the store the servers share
// (docs/JOBS.md): counts, the dead-letter list, retrying or dropping a dead job, and a scheduled
// task's tick log.
#include <functional>

namespace CLI {
class App;
}

namespace outboard::app {

// Adds `jobs` to the CLI; returns the function to run when it was chosen.
std::function<int()> add_jobs_command(CLI::App& app);

}  // namespace outboard::app
