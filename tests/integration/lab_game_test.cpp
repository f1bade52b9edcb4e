// `outboard lab --scenario game`: players in game rooms of 4 (docs/ACTORS.md), a server killed
// with -9 while it owns rooms (back after 1 s), then a rolling deploy. Rooms that are journaled
// actors must lose no acknowledged move and never have two owners; rooms kept in each server's
// memory (`stateful`) must visibly lose in the same run.
//
// Nothing here depends on the machine's speed: in `stateful` the players of the killed server
// come back to another server whose copy of their room never heard of them, and the final audit
// of every player goes through the next server in round robin, not necessarily the one it played on.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/lab_results.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

std::int64_t game_invariant(json const& mode, char const* name) {
  return mode.at("invariants").value(name, std::int64_t{-1});
}

TEST(LabGame, JournaledActorsLoseNoAcknowledgedMoveWhereRoomsInMemoryDo) {
  TempDir dir;
  auto results_file = dir / "results.json";
  auto r = run_outboard({"lab", "--scenario", "game", "--modes", "stateful,actors-journal", "--users", "8",
                         "--servers", "2", "--duration", "8", "--seed", "5", "--json", results_file.string(),
                         "--expect", "stateful=fail,actors-journal=pass"},
                        {}, 240'000);
  ASSERT_TRUE(r.exit_code.has_value()) << "the lab did not finish in time:\n" << r.output;
  ASSERT_EQ(*r.exit_code, 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in, nullptr, false);
  ASSERT_TRUE(results.is_object()) << r.output;

  json journaled = mode_named(results, "actors-journal");
  EXPECT_EQ(game_invariant(journaled, "lost_moves"), 0) << journaled.at("game").dump(2) << "\n" << r.output;
  EXPECT_EQ(game_invariant(journaled, "double_activations"), 0) << r.output;
  EXPECT_EQ(journaled.at("game").value("moves_lost", -1), 0) << "not even within a bound\n" << r.output;
  EXPECT_GT(journaled.at("game").value("moves_acknowledged", 0), 0) << r.output;
  EXPECT_GT(journaled.at("game").value("reconnects", 0), 0) << "the faults reached no room\n" << r.output;

  json stateful = mode_named(results, "stateful");
  EXPECT_GT(game_invariant(stateful, "lost_moves"), 0) << stateful.at("game").dump(2) << "\n" << r.output;
  EXPECT_FALSE(stateful.at("verdict").value("ok", true));
  EXPECT_NE(r.output.find("acknowledged moves lost"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace outboard::testing
