#pragma once
// What the application gives the job runner (docs/JOBS.md): a handler per job type and a task
// per scheduled name. A handler never commits: it returns its writes, and the runner commits them
// in ONE commit_if with the marker (the record that the effect happened) under the claim's
// fencing token, so an effect happens once however often its job runs.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "state/job_queue.hpp"
#include "state/store.hpp"

namespace outboard::jobs {

// The record that a job's effect happened: a hash field in the data store, written in the same
// commit as the effect. Checked before the handler runs (already there: the job is just completed).
struct Marker {
  std::string key;
  std::string field;
};

// Lives as long as the handler's run() (the runner's coroutine owns it).
struct JobContext {
  state::Claim const& claim;
  state::Store& store;          // the runner thread's data store
  core::Clock const& clock;
  std::string_view instance;    // this server's id (X-Served-By), for records
};

class JobHandler {
 public:
  virtual ~JobHandler() = default;
  // From the payload; Errc::invalid (payload unusable) -> the dead-letter list at once with the reason.
  virtual core::Result<Marker> marker(state::Claim const& claim) const = 0;
  // The effect's writes (may take time: rendering). Errc::invalid -> dead letter; other errors -> retry.
  // Runs on the runner's thread; `ctx` outlives the coroutine.
  virtual state::Async<std::vector<state::Write>> run(JobContext const& ctx) = 0;
};

// A scheduled task's work for one tick (instant = the tick's scheduled time, ms since epoch UTC).
class TaskHandler {
 public:
  virtual ~TaskHandler() = default;
  virtual state::Async<std::vector<state::Write>> run(state::Store& store, std::int64_t instant_ms) = 0;
};

}  // namespace outboard::jobs
