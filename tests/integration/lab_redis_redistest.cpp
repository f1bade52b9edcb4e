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
#include <nlohmann/json.hpp>

#include "support/redis_server.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

TEST(LabRedis, StoreRestartLosesNothingInStatelessMode) {
  TempDir dir;
  auto results_file = dir / "results.json";
  auto r = run_outboard({"lab", "--store", "redis", "--scenario", "store-restart", "--modes", "stateless",
                         "--users", "10", "--duration", "6", "--think-min-ms", "20", "--think-max-ms", "100",
                         "--near-cache-entries", "1000", "--json", results_file.string()},
                        {}, 180'000);
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  ASSERT_EQ(*r.exit_code, 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in);
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
  for (auto const& [name, count] : mode.at("invariants").items()) {
    EXPECT_EQ(count.get<std::int64_t>(), 0) << name << "\n" << r.output;
  }
  EXPECT_TRUE(mode.at("verdict").value("ok", false)) << r.output;
}

// The default scenario (a server killed, one frozen past the gateway's first-byte timeout, a
// rolling deploy) with sessions and carts in Redis behind every server's near-cache: entries
// cached by a server that died or was replaced must never answer for data another server changed.
TEST(LabRedis, DefaultScenarioLosesNothingInStatelessModeWithNearCache) {
  TempDir dir;
  auto results_file = dir / "results.json";
  auto r = run_outboard({"lab", "--store", "redis", "--modes", "stateless", "--users", "10", "--duration", "6",
                         "--think-min-ms", "20", "--think-max-ms", "100", "--near-cache-entries", "1000", "--json",
                         results_file.string()},
                        {}, 180'000);
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  ASSERT_EQ(*r.exit_code, 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in);
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
  for (auto const& [name, count] : mode.at("invariants").items()) {
    EXPECT_EQ(count.get<std::int64_t>(), 0) << name << "\n" << r.output;
  }
  EXPECT_TRUE(mode.at("verdict").value("ok", false)) << r.output;
}

// Regression: the modes' users were named alike ("st..." for stateful, sticky and stateless),
// so in a shared store the second mode's sign-ups collided with the first's.
TEST(LabRedis, ModesSharingAnExternalStoreDoNotCollide) {
  RedisServer redis;
  TempDir dir;
  auto results_file = dir / "results.json";
  std::string url = "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0";
  auto r = run_outboard({"lab", "--store", url, "--scenario", "calm", "--modes", "stateless,sticky", "--users", "5",
                         "--duration", "3", "--think-min-ms", "20", "--think-max-ms", "100", "--json",
                         results_file.string()},
                        {}, 180'000);
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  ASSERT_EQ(*r.exit_code, 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in);
  // A collision shows as a sign-up refused on its first try: an answer the ledger cannot explain.
  for (auto const& mode : results.at("modes")) {
    EXPECT_TRUE(mode.value("unexpected_answers", json::object()).empty()) << mode.dump(2);
    EXPECT_GT(mode.at("users_started").get<int>(), 0);
  }
}

}  // namespace
}  // namespace outboard::testing
