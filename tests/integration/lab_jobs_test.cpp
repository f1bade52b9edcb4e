// `outboard lab --scenario jobs`: receipts and a task ticking every second under a hang of a
// server running a job (3 s, three times its lease), a kill -9 of a server running a job, and a
// rolling deploy; designs naive, locked and stateless (the scenario's own, --modes not given).
// The fenced design must lose, duplicate and miss nothing; the two others must visibly fail in
// the same run.
//
// What makes each outcome certain rather than likely:
// - the faults' target is "mid-job": a server seen running a job in two looks 50 ms apart (a
//   receipt takes 500 ms to make), and the test checks that no target fell back to random;
// - naive: every server runs every tick from its own in-process queue, so N servers run each
//   instant N times; and the server killed mid-job takes its queue, and the job in it, along;
// - locked: the paused holder's lease (1 s) runs out while it is frozen (3 s), another server
//   takes the job and writes, and the paused one, on waking, writes too: nothing stops it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

// A counter of the mode's "invariants"; -1 when the run did not report it.
std::int64_t invariant_or_missing(json const& mode, char const* name) {
  return mode.at("invariants").value(name, std::int64_t{-1});
}

// The mid-job targets found a server running a job (else the lab says it chose at random).
void expect_faults_landed_mid_job(json const& mode, std::string const& output) {
  for (auto const& event : mode.at("faults")) {
    EXPECT_NE(event.value("kind", ""), "target") << mode.value("mode", "") << ": " << event.dump() << "\n" << output;
  }
}

TEST(LabJobs, FencedJobsLoseNothingWhereNaiveAndLockedFail) {
  TempDir dir;
  auto results_file = dir / "results.json";
  auto r = run_outboard({"lab", "--scenario", "jobs", "--servers", "3", "--users", "8", "--duration", "8", "--seed",
                         "5", "--think-min-ms", "50", "--think-max-ms", "200", "--json", results_file.string()},
                        {}, 400'000);
  ASSERT_TRUE(r.exit_code.has_value()) << "the lab did not finish in time:\n" << r.output;
  ASSERT_EQ(*r.exit_code, 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in, nullptr, false);
  ASSERT_TRUE(results.is_object()) << r.output;
  // The scenario's own designs, in its order (--modes was not given).
  json const& modes = results.at("modes");
  ASSERT_EQ(modes.size(), 3u) << r.output;
  json const& naive = modes[0];
  json const& locked = modes[1];
  json const& stateless = modes[2];
  ASSERT_EQ(naive.value("mode", ""), "naive");
  ASSERT_EQ(locked.value("mode", ""), "locked");
  ASSERT_EQ(stateless.value("mode", ""), "stateless");
  EXPECT_TRUE(results.at("scenario").value("jobs", false));

  for (auto const& [name, value] : stateless.at("invariants").items()) {
    EXPECT_EQ(value.get<std::int64_t>(), 0) << name << "\n" << stateless.at("jobs").dump(2) << "\n" << r.output;
  }
  json const& jobs = stateless.at("jobs");
  EXPECT_GT(jobs.value("orders", 0), 0) << r.output;
  EXPECT_EQ(jobs.value("receipts_sent", 0), jobs.value("orders", 0) - jobs.value("orders_unreadable", 0));
  EXPECT_GT(jobs.value("tick_instants", 0), 0) << r.output;
  EXPECT_TRUE(stateless.at("verdict").value("ok", false)) << r.output;
  expect_faults_landed_mid_job(stateless, r.output);

  EXPECT_GT(invariant_or_missing(naive, "ticks_run_twice"), 0) << naive.at("jobs").dump(2) << "\n" << r.output;
  // Whether a kill mid-job loses the naive design's receipt or makes it twice depends on where in
  // the job it lands (under clang's ASan it made duplicates only, twice): either is its failure.
  EXPECT_GT(invariant_or_missing(naive, "receipts_lost") + invariant_or_missing(naive, "receipts_duplicated"), 0)
      << naive.at("jobs").dump(2) << "\n" << r.output;
  EXPECT_FALSE(naive.at("verdict").value("ok", true));
  expect_faults_landed_mid_job(naive, r.output);

  // The freeze of a lock holder costs the locked design a stale write or a duplicated receipt:
  // another server takes the job over meanwhile. A freeze inside a write to the sqlite store would
  // stall every server instead (no takeover; CI once saw 2 ticks missed, once nothing at all): the
  // lab thaws such a hang and aims it again (docs/LAB.md). Missed ticks still count as the design's
  // failure; the stale write itself is shown in
  // ServeJobsPaused.WithoutFencingThePausedWorkersLateWriteIsAccepted.
  EXPECT_GT(invariant_or_missing(locked, "receipts_duplicated") + invariant_or_missing(locked, "stale_lease_writes") +
                invariant_or_missing(locked, "ticks_missed"),
            0)
      << locked.at("jobs").dump(2) << "\n" << r.output;
  EXPECT_FALSE(locked.at("verdict").value("ok", true));
  expect_faults_landed_mid_job(locked, r.output);

  EXPECT_NE(r.output.find("writes accepted from a stale lease"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace outboard::testing
