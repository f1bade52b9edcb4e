// `outboard lab` on Redis. With `--store redis` the lab starts its own redis-server (append-only,
// fsync always), kills it with -9 mid-run and starts it again: the stateless design must lose
// nothing, since every acknowledged write was on disk and every request that met the outage was
// retried; with the near-cache on, since a restart drops every server's invalidation and data
// connections, which must flush their caches. With `--store redis://...` every mode shares the
// one store the operator gave.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "support/redis_server.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

// `outboard lab ARGS --json FILE` run to completion (exit 0): its results and its output.
struct LabResults {
  json results;
  std::string output;
};

LabResults run_lab_json(std::vector<std::string> args) {
  TempDir dir;
  auto results_file = dir / "results.json";
  args.insert(args.begin(), "lab");
  args.push_back("--json");
  args.push_back(results_file.string());
  auto r = run_outboard(args, {}, 180'000);
  EXPECT_TRUE(r.exit_code.has_value() && *r.exit_code == 0) << r.output;
  std::ifstream in(results_file);
  return {json::parse(in, nullptr, false), r.output};
}

// A mode that lost nothing: every invariant zero, and the verdict passes.
void expect_nothing_lost(json const& mode, std::string const& output) {
  for (auto const& [name, count] : mode.at("invariants").items()) {
    EXPECT_EQ(count.get<std::int64_t>(), 0) << name << "\n" << output;
  }
  EXPECT_TRUE(mode.at("verdict").value("ok", false)) << output;
}

TEST(LabRedis, StoreRestartLosesNothingInStatelessMode) {
  auto [results, output] = run_lab_json({"--store", "redis", "--scenario", "store-restart", "--modes", "stateless",
                                          "--users", "10", "--duration", "6", "--think-min-ms", "20",
                                          "--think-max-ms", "100", "--near-cache-entries", "1000"});
  ASSERT_TRUE(results.is_object()) << output;
  EXPECT_EQ(results.at("settings").value("store", ""), "redis");
  EXPECT_EQ(results.at("settings").value("near_cache_entries", 0), 1000);
  json const& mode = results.at("modes").at(0);
  bool went_down = false;
  bool came_back = false;
  for (auto const& e : mode.at("faults")) {
    went_down = went_down || e.value("kind", "") == "store-down";
    came_back = came_back || e.value("kind", "") == "store-up";
  }
  EXPECT_TRUE(went_down && came_back) << mode.at("faults").dump(2);
  expect_nothing_lost(mode, output);
}

// The default scenario (a server killed, one frozen past the gateway's first-byte timeout, a
// rolling deploy) with sessions and carts in Redis behind every server's near-cache: entries
// cached by a server that died or was replaced must never answer for data another server changed.
TEST(LabRedis, DefaultScenarioLosesNothingInStatelessModeWithNearCache) {
  auto [results, output] = run_lab_json({"--store", "redis", "--modes", "stateless", "--users", "10", "--duration",
                                          "6", "--think-min-ms", "20", "--think-max-ms", "100",
                                          "--near-cache-entries", "1000"});
  ASSERT_TRUE(results.is_object()) << output;
  EXPECT_EQ(results.at("scenario").value("name", ""), "crash-and-deploy");
  EXPECT_EQ(results.at("settings").value("near_cache_entries", 0), 1000);
  std::set<std::string> planned;
  for (auto const& f : results.at("scenario").at("faults")) planned.insert(f.value("kind", ""));
  EXPECT_EQ(planned, (std::set<std::string>{"kill", "hang", "rolling-deploy"}));
  json const& mode = results.at("modes").at(0);
  std::set<std::string> happened;
  for (auto const& e : mode.at("faults")) happened.insert(e.value("kind", ""));
  for (auto const* kind : {"kill", "hang", "replace"}) EXPECT_TRUE(happened.contains(kind)) << kind;
  EXPECT_GT(mode.at("users_started").get<int>(), 0);
  expect_nothing_lost(mode, output);
}

// Regression: the modes' users were named alike ("st..." for stateful, sticky and stateless),
// so in a shared store the second mode's sign-ups collided with the first's.
TEST(LabRedis, ModesSharingAnExternalStoreDoNotCollide) {
  RedisServer redis;
  std::string url = "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0";
  auto [results, output] = run_lab_json({"--store", url, "--scenario", "calm", "--modes", "stateless,sticky",
                                          "--users", "5", "--duration", "3", "--think-min-ms", "20",
                                          "--think-max-ms", "100"});
  ASSERT_TRUE(results.is_object()) << output;
  // A collision shows as a sign-up refused on its first try: an answer the ledger cannot explain.
  for (auto const& mode : results.at("modes")) {
    EXPECT_TRUE(mode.value("unexpected_answers", json::object()).empty()) << mode.dump(2);
    EXPECT_GT(mode.at("users_started").get<int>(), 0);
  }
}

}  // namespace
}  // namespace outboard::testing
