// `outboard lab --store redis --scenario store-partition`: every server reaches the lab's private
// redis-server through a FaultProxy of its own, and the built-in cuts all of them at once for 2 s
// mid-run. The stateless design must lose nothing (a request that met the partition is answered
// 503 and retried with the same Idempotency-Key; what the partition held back arrives on healing
// and is deduplicated), and the partition must have been real: servers answered 5xx meanwhile,
// which a run whose servers reached the store directly would not show.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

TEST(LabStorePartition, StatelessLosesNothingWhileEveryServerIsCutFromRedis) {
  TempDir dir;
  auto results_file = dir / "results.json";
  auto r = run_outboard({"lab", "--store", "redis", "--scenario", "store-partition", "--servers", "2", "--users", "10",
                         "--duration", "6", "--think-min-ms", "20", "--think-max-ms", "100", "--json",
                         results_file.string()},
                        {}, 180'000);
  ASSERT_TRUE(r.exit_code.has_value() && *r.exit_code == 0) << r.output;
  std::ifstream in(results_file);
  json results = json::parse(in, nullptr, false);
  ASSERT_TRUE(results.is_object()) << r.output;
  json const& mode = results.at("modes").at(0);
  EXPECT_EQ(mode.value("mode", ""), "stateless");  // the built-in's default design

  std::vector<std::string> link_events;
  for (auto const& e : mode.at("faults")) {
    std::string kind = e.value("kind", "");
    if (kind == "partition" || kind == "heal-link") link_events.push_back(kind + " " + e.value("detail", ""));
  }
  ASSERT_EQ(link_events.size(), 2u) << mode.at("faults").dump(2);
  EXPECT_EQ(link_events[0], "partition servers/store: cut for 2000 ms");
  EXPECT_EQ(link_events[1], "heal-link servers/store normal again");

  // The proxies were in the servers' path: requests that needed the store failed meanwhile.
  EXPECT_GT(mode.at("failures").value("server_5xx", 0), 0) << mode.at("failures").dump(2) << "\n" << r.output;
  for (auto const& [name, count] : mode.at("invariants").items()) {
    EXPECT_EQ(count.get<std::int64_t>(), 0) << name << "\n" << r.output;
  }
  EXPECT_GT(mode.at("journeys").value("completed", 0), 0) << r.output;
  EXPECT_TRUE(mode.at("verdict").value("ok", false)) << r.output;
}

}  // namespace
}  // namespace outboard::testing
