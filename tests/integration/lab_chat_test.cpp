// `outboard lab --scenario chat`: chat users only, a server killed with -9 while it holds their
// WebSockets (back after 1 s), then a rolling deploy (close 1001). The resumable design must lose,
// duplicate and reorder nothing while it delivers; the in-process broadcast (`stateful`) and the
// fire-and-forget fan-out (`pubsub`) must visibly lose in the same run.
//
// Nothing here depends on the machine's speed: in `stateful` users of one room sit on different
// servers from the first second and never hear each other; in `pubsub` the kill and the deploy
// disconnect users, who miss what their rooms said until they are back, and nothing replays it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

json design(json const& results, std::string const& name) {
  for (auto const& m : results.at("modes")) {
    if (m.value("mode", "") == name) return m;
  }
  ADD_FAILURE() << "no design " << name << " in the results";
  return json::object();
}

std::int64_t chat_invariant(json const& mode, char const* name) {
  return mode.at("invariants").value(name, std::int64_t{-1});
}

TEST(LabChat, ResumableRoomsLoseNothingWhereInProcessAndPubsubLose) {
  TempDir dir;
  auto results_file = dir / "results.json";
  auto r = run_outboard({"lab", "--scenario", "chat", "--modes", "stateless,stateful,pubsub", "--users", "24",
                         "--duration", "8", "--seed", "3", "--json", results_file.string()},
                        {}, 240'000);
  ASSERT_TRUE(r.exit_code.has_value()) << "the lab did not finish in time:\n" << r.output;
  ASSERT_EQ(*r.exit_code, 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in, nullptr, false);
  ASSERT_TRUE(results.is_object()) << r.output;
  EXPECT_EQ(results.at("scenario").value("chat_share", 0.0), 1.0);

  json stateless = design(results, "stateless");
  EXPECT_EQ(chat_invariant(stateless, "chat_lost"), 0) << stateless.at("chat").dump(2) << "\n" << r.output;
  EXPECT_EQ(chat_invariant(stateless, "chat_duplicated"), 0) << r.output;
  EXPECT_EQ(chat_invariant(stateless, "chat_out_of_order"), 0) << r.output;
  EXPECT_GT(stateless.at("chat").value("delivered", 0), 0) << r.output;
  EXPECT_GT(stateless.at("chat").value("reconnects", 0), 0) << "the faults reached no WebSocket\n" << r.output;
  EXPECT_TRUE(stateless.at("verdict").value("ok", false)) << r.output;

  json stateful = design(results, "stateful");
  EXPECT_GT(chat_invariant(stateful, "chat_lost"), 0) << stateful.at("chat").dump(2) << "\n" << r.output;
  EXPECT_FALSE(stateful.at("verdict").value("ok", true));

  json pubsub = design(results, "pubsub");
  EXPECT_GT(chat_invariant(pubsub, "chat_lost"), 0) << pubsub.at("chat").dump(2) << "\n" << r.output;
  EXPECT_EQ(chat_invariant(pubsub, "unexpected_logouts"), 0) << "sessions are in the shared store\n" << r.output;
  EXPECT_FALSE(pubsub.at("verdict").value("ok", true));

  EXPECT_NE(r.output.find("chat messages lost"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace outboard::testing
