// `outboard lab --scenario jobs`: receipts and a task ticking every second under a hang of a
// server running a job (3 s, three times its lease), a kill -9 of a server running a job, and a
// rolling deploy; designs naive, locked and stateless (the scenario's own, --modes not given).
// The fenced design must lose, duplicate and miss nothing; the two others must visibly fail in
// the same run.
//
// What makes each outcome certain rather than likely:
// - the faults' target is "mid-job": a server seen starting a job (none in flight at a look, one
//   25 ms later; a receipt takes 500 ms to make), and still running it at a last read of its
//   /metrics right before the signal, else the fault is aimed again; the test checks that no
//   target fell back to random or went ahead without a job in flight;
// - naive: every server runs every tick from its own in-process queue, so N servers run each
//   instant N times; and the server killed mid-job takes its queue, and the job in it, along;
// - locked: the paused holder's lease (1 s) runs out while it is frozen (3 s), another server
//   takes the job and writes, and the paused one, on waking, writes too: nothing stops it. That
//   needs the hang to land: the frozen server loses its lease (the run's lease_losses). Under a
//   sanitizer it once did not (no lease lost, nothing to see: the job was over, or a frozen write
//   to the sqlite store stalled every server unnoticed), so when the first run shows no lease
//   lost, the locked design runs again alone with another seed, at most twice, and the verdict is
//   asserted on a run where the hang landed.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// One `outboard lab --scenario jobs` run (plus `extra` arguments) and its --json results; a null
// json (after a test failure) when it did not finish or wrote no results.
json run_jobs_lab(TempDir const& dir, int seed, std::vector<std::string> const& extra, std::string& output) {
  auto results_file = dir / ("results-" + std::to_string(seed) + ".json");
  std::vector<std::string> args{"lab", "--scenario", "jobs", "--servers", "3", "--users", "8", "--duration", "8",
                                "--seed", std::to_string(seed), "--think-min-ms", "50", "--think-max-ms", "200",
                                "--json", results_file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_outboard(args, {}, 400'000);
  output = r.output;
  EXPECT_TRUE(r.exit_code.has_value()) << "the lab did not finish in time:\n" << r.output;
  EXPECT_EQ(r.exit_code.value_or(-1), 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in, nullptr, false);
  EXPECT_TRUE(results.is_object()) << r.output;
  return results.is_object() ? results : json();
}

TEST(LabJobs, FencedJobsLoseNothingWhereNaiveAndLockedFail) {
  TempDir dir;
  std::string output;
  json results = run_jobs_lab(dir, 5, {}, output);
  ASSERT_TRUE(results.is_object());
  // The scenario's own designs, in its order (--modes was not given).
  json const& modes = results.at("modes");
  ASSERT_EQ(modes.size(), 3u) << output;
  json const& naive = modes[0];
  json locked = modes[1];
  json const& stateless = modes[2];
  ASSERT_EQ(naive.value("mode", ""), "naive");
  ASSERT_EQ(locked.value("mode", ""), "locked");
  ASSERT_EQ(stateless.value("mode", ""), "stateless");
  EXPECT_TRUE(results.at("scenario").value("jobs", false));
  EXPECT_NE(output.find("writes accepted from a stale lease"), std::string::npos) << output;

  for (auto const& [name, value] : stateless.at("invariants").items()) {
    EXPECT_EQ(value.get<std::int64_t>(), 0) << name << "\n" << stateless.at("jobs").dump(2) << "\n" << output;
  }
  json const& jobs = stateless.at("jobs");
  EXPECT_GT(jobs.value("orders", 0), 0) << output;
  EXPECT_EQ(jobs.value("receipts_sent", 0), jobs.value("orders", 0) - jobs.value("orders_unreadable", 0));
  EXPECT_GT(jobs.value("tick_instants", 0), 0) << output;
  EXPECT_TRUE(stateless.at("verdict").value("ok", false)) << output;
  expect_faults_landed_mid_job(stateless, output);

  EXPECT_GT(invariant_or_missing(naive, "ticks_run_twice"), 0) << naive.at("jobs").dump(2) << "\n" << output;
  // Whether a kill mid-job loses the naive design's receipt or makes it twice depends on where in
  // the job it lands (under clang's ASan it made duplicates only, twice): either is its failure.
  EXPECT_GT(invariant_or_missing(naive, "receipts_lost") + invariant_or_missing(naive, "receipts_duplicated"), 0)
      << naive.at("jobs").dump(2) << "\n" << output;
  EXPECT_FALSE(naive.at("verdict").value("ok", true));
  expect_faults_landed_mid_job(naive, output);

  // The hang must have landed (see the top of this file); else the locked design runs again alone.
  auto lease_lost = [](json const& mode) { return mode.at("jobs").value("lease_losses", std::int64_t{0}) > 0; };
  for (int seed = 6; seed <= 7 && !lease_lost(locked); ++seed) {
    std::string first = locked.at("jobs").dump(2);
    json again = run_jobs_lab(dir, seed, {"--modes", "locked"}, output);
    ASSERT_TRUE(again.is_object());
    ASSERT_EQ(again.at("modes").size(), 1u) << output;
    locked = again.at("modes")[0];
    ASSERT_EQ(locked.value("mode", ""), "locked") << output;
    std::cerr << "locked: the hang cost no lease in the last run (" << first << "), ran it again with seed " << seed
              << "\n";
  }
  ASSERT_TRUE(lease_lost(locked)) << "in three runs the hang never cost the frozen server its lease\n"
                                  << locked.at("jobs").dump(2) << "\n" << output;
  // The freeze of a lock holder costs the locked design a stale write or a duplicated receipt:
  // another server takes the job over meanwhile. A freeze inside a write to the sqlite store would
  // stall every server instead (no takeover; CI once saw 2 ticks missed, once nothing at all): the
  // lab thaws such a hang and aims it again (docs/LAB.md). Missed ticks still count as the design's
  // failure; the stale write itself is shown in
  // ServeJobsPaused.WithoutFencingThePausedWorkersLateWriteIsAccepted.
  EXPECT_GT(invariant_or_missing(locked, "receipts_duplicated") + invariant_or_missing(locked, "stale_lease_writes") +
                invariant_or_missing(locked, "ticks_missed"),
            0)
      << locked.at("jobs").dump(2) << "\n" << output;
  EXPECT_FALSE(locked.at("verdict").value("ok", true));
  expect_faults_landed_mid_job(locked, output);
}

}  // namespace
}  // namespace outboard::testing
