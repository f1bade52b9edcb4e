#pragma once
// Scheduled ticks as jobs (docs/JOBS.md). Every instance enqueues the tick of each instant as the
// job "tick" / "<task>@<instant_ms>": the key makes it one job, and its claim (lease + fence) is
// the lock keyed by (task, instant). The built-in handler runs the task and adds to its writes:
//   ticks:{<task>}          hash    "<instant_ms>" -> the runner's record (the marker)
//   ticklog:{<task>}        list    one JSON {"instant_ms","instance","fence","at_ms"} per commit
//                                   (append-only, 7 days: the lab counts runs per instant from it)
//   schedule:{<task>}:last  string  the latest instant run (what missed ticks are counted from);
//                                   read then written, so two ticks of one task committing at
//                                   once may leave the older (counts only: a missed-tick metric)
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jobs/handler.hpp"
#include "state/job_queue.hpp"

namespace outboard::jobs {

inline constexpr core::Millis kTickLogTtl{7LL * 24 * 3600 * 1000};

inline std::string ticks_key(std::string_view task) { return "ticks:{" + std::string(task) + "}"; }
inline std::string tick_log_key(std::string_view task) { return "ticklog:{" + std::string(task) + "}"; }
inline std::string last_tick_key(std::string_view task) { return "schedule:{" + std::string(task) + "}:last"; }

struct TickKey {
  std::string task;
  std::int64_t instant_ms = 0;
};
// "<task>@<instant_ms>"; nullopt when the key is not one.
std::optional<TickKey> parse_tick_key(std::string_view key);

// Payload {"task","instant_ms","catch_up"}. A catch-up tick (an older instant, enqueued beside the
// due one) does not write `schedule:{<task>}:last`: run beside the due tick, it could commit
// after it and move `last` back.
state::JobSpec tick_job(std::string const& task, std::int64_t instant_ms, int max_attempts, bool catch_up = false);

class TickHandler final : public JobHandler {
 public:
  // `tasks` outlives the handler (the runner's).
  explicit TickHandler(std::map<std::string, std::unique_ptr<TaskHandler>> const& tasks) : tasks_(tasks) {}

  // A key that is not a tick's: Errc::invalid (dead letter). A task this instance does not have
  // (a rolling deploy that adds one): Errc::not_found, retried, so an instance that has it runs it.
  core::Result<Marker> marker(state::Claim const& claim) const override;
  state::Async<std::vector<state::Write>> run(JobContext const& ctx) override;

 private:
  std::map<std::string, std::unique_ptr<TaskHandler>> const& tasks_;
};

}  // namespace outboard::jobs
