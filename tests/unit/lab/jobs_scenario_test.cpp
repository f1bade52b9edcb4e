// The jobs workload in the lab's plain parts: the designs, the `jobs` built-in and the scenario
// keys it uses, the "mid-job" target, and the rows the table, the verdict and the report show.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "lab/cluster.hpp"
#include "lab/html_report.hpp"
#include "lab/modes.hpp"
#include "lab/scenario.hpp"
#include "lab/summary.hpp"

namespace outboard::lab {
namespace {

using nlohmann::json;

std::string jobs_parse_error(std::string const& text) {
  try {
    (void)parse_scenario(text, "t.toml");
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "(no ScenarioError)";
}

std::size_t count_of(std::string const& text, std::string const& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(JobsDesigns, OnlyTheJobsDifferFromStateless) {
  auto stateless = find_mode("stateless");
  auto naive = find_mode("naive");
  auto locked = find_mode("locked");
  ASSERT_TRUE(stateless && naive && locked);
  EXPECT_EQ(stateless->jobs, Jobs::fenced);
  EXPECT_EQ(naive->jobs, Jobs::in_process);
  EXPECT_EQ(locked->jobs, Jobs::lease_unfenced);
  for (auto const* mode : {&*naive, &*locked}) {
    SCOPED_TRACE(mode->name);
    EXPECT_EQ(mode->policy, stateless->policy);
    EXPECT_EQ(mode->sessions_in_memory, stateless->sessions_in_memory);
    EXPECT_EQ(mode->blobs_on_local_disk, stateless->blobs_on_local_disk);
    EXPECT_EQ(mode->deduplicates, stateless->deduplicates);
    EXPECT_EQ(mode->tokens, stateless->tokens);
    EXPECT_EQ(mode->realtime, stateless->realtime);
    EXPECT_FALSE(mode->description.empty());
  }
}

TEST(JobsScenario, TheBuiltInHangsPastTheLeaseAndKillsMidJob) {
  Scenario s = find_scenario("jobs");
  EXPECT_TRUE(s.jobs);
  EXPECT_EQ(s.default_modes, (std::vector<std::string>{"naive", "locked", "stateless"}));
  ASSERT_EQ(s.faults.size(), 3u);
  // The kill first, on servers no hang has held back.
  EXPECT_EQ(s.faults[0].kind, FaultKind::kill);
  EXPECT_TRUE(s.faults[0].target.mid_job);
  EXPECT_TRUE(s.faults[0].restart_after_ms);
  EXPECT_EQ(s.faults[1].kind, FaultKind::hang);
  EXPECT_TRUE(s.faults[1].target.mid_job);
  // Past the lease, or the paused holder's lease never expires and `locked` shows nothing.
  EXPECT_GE(s.faults[1].lasting_ms, 2 * kJobLeaseMs);
  EXPECT_EQ(s.faults[2].kind, FaultKind::rolling_deploy);
  EXPECT_NO_THROW(check_scenario_fits(s, 3, 8'000, false));
  EXPECT_EQ(describe_fault(s.faults[0]), "kill a server running a job");
  EXPECT_EQ(describe_fault(s.faults[1]), "hang a server running a job");
  // The other built-ins run no jobs workload and keep the lab's default designs, but truth,
  // which compares sticky and hashed with stateless across gateways, and store-partition, which
  // shows what the design that should lose nothing does when every server is cut from the store.
  for (auto const& other : builtin_scenarios()) {
    if (other.name == "jobs") continue;
    EXPECT_FALSE(other.jobs) << other.name;
    if (other.name == "truth") {
      EXPECT_EQ(other.default_modes, (std::vector<std::string>{"sticky", "hashed", "stateless"}));
      continue;
    }
    if (other.name == "store-partition") {
      EXPECT_EQ(other.default_modes, (std::vector<std::string>{"stateless"}));
      continue;
    }
    if (other.name == "game") {
      EXPECT_EQ(other.default_modes, (std::vector<std::string>{"stateful", "sticky", "actors", "actors-journal"}));
      continue;
    }
    EXPECT_TRUE(other.default_modes.empty()) << other.name;
  }
}

TEST(JobsScenario, AFileMayRunTheWorkloadNameItsDesignsAndTargetAServerMidJob) {
  Scenario s = parse_scenario(
      "name = \"x\"\njobs = true\nmodes = [\"locked\", \"stateless\"]\n"
      "[[fault]]\nat = \"1s\"\naction = \"kill\"\ntarget = \"mid-job\"\n",
      "t.toml");
  EXPECT_TRUE(s.jobs);
  EXPECT_EQ(s.default_modes, (std::vector<std::string>{"locked", "stateless"}));
  EXPECT_TRUE(s.faults[0].target.mid_job);
  EXPECT_FALSE(s.faults[0].target.random);
  // A mid-job target is whichever server runs a job then: never "beyond the servers running".
  EXPECT_NO_THROW(check_scenario_fits(s, 2, 5'000, false));
  EXPECT_FALSE(parse_scenario("name = \"x\"\n", "t.toml").jobs);
}

TEST(JobsScenario, BadJobsAndModesKeysNameTheLineAndKey) {
  EXPECT_NE(jobs_parse_error("name = \"x\"\njobs = \"yes\"\n").find("t.toml:2: key 'jobs': expected true or false"),
            std::string::npos);
  std::string error = jobs_parse_error("name = \"x\"\nmodes = [\"stateless\", \"fenced\"]\n");
  EXPECT_NE(error.find("t.toml:2: key 'modes[2]': unknown mode \"fenced\"; known: "), std::string::npos) << error;
  error = jobs_parse_error("name = \"x\"\nmodes = [\"naive\", \"naive\"]\n");
  EXPECT_NE(error.find("key 'modes[2]': \"naive\" is listed twice"), std::string::npos) << error;
  error = jobs_parse_error("name = \"x\"\nmodes = \"naive\"\n");
  EXPECT_NE(error.find("t.toml:2: key 'modes': expected a list of modes"), std::string::npos) << error;
  error = jobs_parse_error("name = \"x\"\nmodes = []\n");
  EXPECT_NE(error.find("key 'modes': expected a list of modes"), std::string::npos) << error;
  error = jobs_parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"hang\"\nlasting = \"1s\"\ntarget = \"midjob\"\n");
  EXPECT_NE(error.find("t.toml:6: key 'fault[1].target': expected a server position (1, 2, ...) or \"random\" (or "
                       "\"mid-job\""),
            std::string::npos)
      << error;
}

// A mode's results as run_one_mode writes them, with or without the jobs workload.
json mode_results(char const* name, bool jobs, std::int64_t receipts_lost = 0) {
  json mode{{"mode", name},
            {"invariants",
             {{"unexpected_logouts", 0},
              {"receipts_lost", receipts_lost},
              {"receipts_duplicated", 0},
              {"ticks_missed", 0},
              {"ticks_run_twice", 0},
              {"stale_lease_writes", 0}}},
            {"journeys", {{"completed", 10}, {"abandoned", 0}}},
            {"timeline", json::array()},
            {"faults", json::array()}};
  if (jobs) mode["jobs"] = {{"orders", 12}, {"receipts_sent", 12 - receipts_lost}, {"tick_instants", 5}};
  return mode;
}

json results_of(std::vector<json> modes) {
  return {{"outboard_lab", 1},
          {"scenario", {{"name", "jobs"}, {"faults", json::array()}}},
          {"settings", {{"servers", 3}, {"users", 8}, {"duration_s", 8.0}, {"store", "sqlite"}, {"seed", 1}}},
          {"modes", std::move(modes)}};
}

TEST(JobsSummary, TheJobsRowsShowWhenTheWorkloadRanEvenAtZero) {
  std::string with = render_table(results_of({mode_results("stateless", true)}));
  EXPECT_NE(with.find("must never happen: background jobs and scheduled ticks"), std::string::npos) << with;
  for (char const* row : {"receipts lost", "receipts duplicated", "ticks missed", "ticks run twice",
                          "writes accepted from a stale lease", "orders checked", "tick instants checked"}) {
    EXPECT_NE(with.find(row), std::string::npos) << row;
  }
  std::string without = render_table(results_of({mode_results("stateless", false)}));
  EXPECT_EQ(without.find("receipts lost"), std::string::npos) << without;
  EXPECT_EQ(without.find("tick instants checked"), std::string::npos) << without;
}

TEST(JobsSummary, EachJobsInvariantFailsTheVerdict) {
  EXPECT_TRUE(judge(mode_results("stateless", true)).value("ok", false));
  for (char const* key : {"receipts_lost", "receipts_duplicated", "ticks_missed", "ticks_run_twice",
                          "stale_lease_writes"}) {
    json mode = mode_results("naive", true);
    mode["invariants"][key] = 2;
    json verdict = judge(mode);
    EXPECT_FALSE(verdict.value("ok", true)) << key;
    EXPECT_NE(verdict.value("text", "").find("LOST 2 "), std::string::npos) << key << ": " << verdict.dump();
  }
}

TEST(JobsSummary, TheReportExplainsTheJobsInvariantsOnlyWhenTheyAreShown) {
  std::size_t losses = 0;
  std::size_t job_losses = 0;
  std::size_t game_losses = 0;  // these results ran no game: its rows are not shown either
  for (auto const& section : table_sections()) {
    for (auto const& row : section.rows) {
      if (row.kind != RowKind::loss) continue;
      ++losses;
      if (section.used_when_present == "jobs") ++job_losses;
      if (section.used_when_present == "game") ++game_losses;
    }
  }
  EXPECT_EQ(job_losses, 5u);
  std::string const with = render_html_report(results_of({mode_results("naive", true, 3), mode_results("stateless", true)}));
  EXPECT_EQ(count_of(with, "<dt>"), losses - game_losses);
  EXPECT_NE(with.find("<dt>writes accepted from a stale lease</dt>"), std::string::npos);
  std::string const without = render_html_report(results_of({mode_results("stateless", false)}));
  EXPECT_EQ(count_of(without, "<dt>"), losses - job_losses - game_losses);
  EXPECT_EQ(without.find("<dt>receipts lost</dt>"), std::string::npos);
}

}  // namespace
}  // namespace outboard::lab
