// Every invariant of the lab's ledger is shown to fire: the lab runs (in this process) against a
// test-only server with exactly one known defect (tests/defective_serve) and must count that
// defect on its invariant, and on no other; against the real `outboard serve` it must count
// nothing and pass. Where the ledger sees an invariant in more than one way (lost cart lines:
// missing from the cart, or a checkout that finds it empty), each way has a defect of its own
// that only it can see, so removing any one check from the ledger fails a case here.
//
// No fault is scheduled (scenario "calm"), so what is asserted holds however fast or slow the
// machine is: every defect breaks one answer in three (or every answer), and each user meets
// each route on every journey.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "lab/lab_runner.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

constexpr char const* kInvariants[] = {"unexpected_logouts", "lost_cart_lines", "duplicated_cart_lines",
                                       "duplicate_orders",   "lost_orders",     "upload_mismatches",
                                       "failed_retryable", "revoked_accepted", "refresh_family_revoked"};

// A short, small run: one server behind the gateway, a few users with short think times. What
// `server_command` runs is the only thing the cases change.
lab::LabSettings small_run(std::filesystem::path const& work_root, std::vector<std::string> server_command,
                           std::string const& mode) {
  lab::LabSettings s;
  s.scenario = lab::find_scenario("calm");
  s.modes = {*lab::find_mode(mode)};
  // jwt: tokens of 1 s, refreshed before every request (less than the 1 s margin is always left).
  s.access_token_s = 1;
  s.servers = 1;
  s.users = 8;
  s.duration_ms = 2'000;
  // A sanitizer build on a loaded CI machine may not finish a journey in 2 s (a jwt journey once
  // did not): the run lasts until as many journeys as users have ended, however slow the machine.
  s.min_journeys = s.users;
  s.seed = 12;
  s.think_min = std::chrono::milliseconds(2);
  s.think_max = std::chrono::milliseconds(10);
  s.outboard_binary = OUTBOARD_BINARY;  // the gateway, and the server when server_command is empty
  s.server_command = std::move(server_command);
  s.work_root = work_root;
  return s;
}

// The one mode's results, with the lab's own output for failure messages.
struct LabRun {
  json mode;
  std::string output;
};

LabRun run_small_lab(std::vector<std::string> server_command, std::string const& mode = "stateless") {
  TempDir dir;
  std::ostringstream out;
  json results = lab::run_lab(small_run(dir / "lab", std::move(server_command), mode), out);
  return {results.at("modes").at(0), out.str()};
}

std::int64_t count_of(json const& mode, std::string const& invariant) {
  return mode.at("invariants").at(invariant).get<std::int64_t>();
}

struct DefectCase {
  char const* defect;     // outboard_defective_serve --defect
  char const* invariant;  // the one it must make the ledger count
  char const* mode = "stateless";
};

// How gtest names a case in its listings and failures (not as 16 raw bytes).
void PrintTo(DefectCase const& c, std::ostream* os) { *os << c.defect << " -> " << c.invariant; }

// "lost-cart-line" -> "lost_cart_line": gtest names allow no '-'.
std::string test_name(std::string defect) {
  std::replace(defect.begin(), defect.end(), '-', '_');
  return defect;
}

class DefectFires : public ::testing::TestWithParam<DefectCase> {};

TEST_P(DefectFires, OnItsInvariantAndNoOther) {
  auto [defect, counted, mode] = GetParam();
  LabRun run = run_small_lab({OUTBOARD_DEFECTIVE_SERVE, "--defect", defect}, mode);
  std::string context = run.mode.dump(2) + "\n" + run.output;
  EXPECT_GT(count_of(run.mode, counted), 0) << "defect " << defect << " was not counted as " << counted << "\n"
                                            << context;
  for (std::string name : kInvariants) {
    if (name == counted) continue;
    EXPECT_EQ(count_of(run.mode, name), 0) << name << " under defect " << defect << "\n" << context;
  }
  EXPECT_FALSE(run.mode.at("verdict").value("ok", true)) << context;
}

INSTANTIATE_TEST_SUITE_P(LabInvariants, DefectFires,
                         ::testing::Values(DefectCase{"unexpected-logout", "unexpected_logouts"},
                                           DefectCase{"lost-cart-line", "lost_cart_lines"},
                                           DefectCase{"checkout-empties-cart", "lost_cart_lines"},
                                           DefectCase{"duplicated-cart-line", "duplicated_cart_lines"},
                                           DefectCase{"cart-line-listed-twice", "duplicated_cart_lines"},
                                           DefectCase{"duplicate-order", "duplicate_orders"},
                                           DefectCase{"unplaced-order", "duplicate_orders"},
                                           DefectCase{"order-line-twice", "duplicate_orders"},
                                           DefectCase{"lost-order", "lost_orders"},
                                           DefectCase{"upload-mismatch", "upload_mismatches"},
                                           DefectCase{"failed-retryable", "failed_retryable"},
                                           DefectCase{"logout-ignored", "revoked_accepted"},
                                           DefectCase{"refresh-refused", "refresh_family_revoked", "jwt"}),
                         [](::testing::TestParamInfo<DefectCase> const& param) { return test_name(param.param.defect); });

// The same run against the real server: every invariant zero, nothing unexplained, and the
// verdict passes. Without this, a ledger that counted everything would pass the cases above.
TEST(LabInvariants, CorrectServerCountsNothing) {
  LabRun run = run_small_lab({});
  std::string context = run.mode.dump(2) + "\n" + run.output;
  for (std::string name : kInvariants) EXPECT_EQ(count_of(run.mode, name), 0) << name << "\n" << context;
  EXPECT_TRUE(run.mode.value("unexpected_answers", json::object()).empty()) << context;
  EXPECT_GT(run.mode.at("journeys").value("completed", 0), 0) << context;
  EXPECT_GT(run.mode.at("revocation").value("logouts_checked", 0), 0) << "no logout was checked\n" << context;
  EXPECT_TRUE(run.mode.at("verdict").value("ok", false)) << context;
}

// Regression: with tokens, a logout retried after its answer was lost met a 401 (its login was
// already over), which the users took for a refused token: they refreshed, were refused, and the
// ledger counted a refresh family revoked for nothing (seen once in CI under a kill -9).
TEST(LabInvariants, ALogoutWhoseAnswerWasLostCountsNothing) {
  LabRun run = run_small_lab({OUTBOARD_DEFECTIVE_SERVE, "--defect", "logout-answer-lost"}, "jwt");
  std::string context = run.mode.dump(2) + "\n" + run.output;
  for (std::string name : kInvariants) EXPECT_EQ(count_of(run.mode, name), 0) << name << "\n" << context;
  EXPECT_GT(run.mode.at("requests").value("retries", 0), 0) << "no logout answer was lost\n" << context;
  EXPECT_GT(run.mode.at("revocation").value("logouts_checked", 0), 0) << context;
  EXPECT_TRUE(run.mode.at("verdict").value("ok", false)) << context;
}

}  // namespace
}  // namespace outboard::testing
