// The lab's truth pieces that are pure: the truth faults and the network faults (latency, loss,
// partition `between` two parts) in scenario files (strict parsing, and refused before a run that
// lacks their parts), and reading the gateways' /metrics (a labelled
// family by one label, a histogram, merged and read for its quantiles).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lab/metrics_text.hpp"
#include "lab/scenario.hpp"
#include "lab/truth_watch.hpp"

namespace outboard::lab {
namespace {

std::string error_of(std::string const& toml) {
  try {
    parse_scenario(toml, "t.toml");
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "";
}

std::string fits_error(Scenario const& s, int gateways, bool registry) {
  try {
    check_scenario_fits(s, 3, 10'000, false, gateways, registry);
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "";
}

TEST(TruthFaults, EachKindParsesWithItsKeys) {
  auto s = parse_scenario(R"(name = "t"
[[fault]]
at = "10%"
action = "kill-gateway"
target = 2
restart_after = "1s"
[[fault]]
at = "20%"
action = "partition-registry"
target = 1
lasting = "2s"
[[fault]]
at = "30%"
action = "slow-registry"
target = 2
latency = "300ms"
lasting = "1500ms"
[[fault]]
at = "40%"
action = "kill-etcd-leader"
)",
                          "t.toml");
  ASSERT_EQ(s.faults.size(), 4u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::kill_gateway);
  EXPECT_EQ(s.faults[0].target.index, 2);
  EXPECT_EQ(s.faults[0].restart_after_ms, 1000);
  EXPECT_EQ(s.faults[1].kind, FaultKind::partition_registry);
  EXPECT_EQ(s.faults[1].lasting_ms, 2000);
  EXPECT_EQ(s.faults[2].kind, FaultKind::slow_registry);
  EXPECT_EQ(s.faults[2].latency_ms, 300);
  EXPECT_EQ(s.faults[2].lasting_ms, 1500);
  EXPECT_EQ(s.faults[3].kind, FaultKind::kill_etcd_leader);
  EXPECT_FALSE(s.faults[3].restart_after_ms.has_value());
}

TEST(TruthFaults, MissingOrMisplacedKeysAreRefusedByLineAndKey) {
  EXPECT_EQ(error_of("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"partition-registry\"\ntarget = 1\n"),
            "t.toml:2: key 'fault[1].lasting': missing; a partition-registry needs to know how long, like \"2s\"");
  EXPECT_EQ(error_of("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"slow-registry\"\nlasting = \"1s\"\n"),
            "t.toml:2: key 'fault[1].latency': missing; a slow-registry needs the delay to add, like \"300ms\"");
  EXPECT_EQ(error_of("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"kill-gateway\"\ntarget = \"random\"\n"),
            "t.toml:5: key 'fault[1].target': a kill-gateway fault names a gateway by its position (1, 2, ...), got "
            "\"random\"");
  EXPECT_NE(error_of("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"kill-etcd-leader\"\ntarget = 1\n")
                .find("t.toml:5: key 'fault[1].target': does not apply to a kill-etcd-leader fault"),
            std::string::npos);
  EXPECT_NE(error_of("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"hang\"\nlasting = \"1s\"\nlatency = \"1s\"\n")
                .find("key 'fault[1].latency': does not apply to a hang fault (only to slow-registry and latency)"),
            std::string::npos);
}

TEST(TruthFaults, ARunWithoutTheirPartsRefusesThem) {
  auto truth = find_scenario("truth");
  EXPECT_EQ(fits_error(truth, 2, true), "");
  EXPECT_NE(fits_error(truth, 2, false).find("needs a registry: run with --registry etcd"), std::string::npos);
  auto kill = parse_scenario("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"kill-gateway\"\n", "t.toml");
  EXPECT_NE(fits_error(kill, 1, false).find("needs --gateways 2 or more"), std::string::npos);
  EXPECT_EQ(fits_error(kill, 2, false), "");  // no registry needed to kill a gateway
  auto three = parse_scenario("name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"partition-registry\"\ntarget = 3\n"
                              "lasting = \"1s\"\n",
                              "t.toml");
  EXPECT_NE(fits_error(three, 2, true).find("there is no gateway 3 (--gateways 2)"), std::string::npos);
  EXPECT_EQ(fits_error(three, 3, true), "");
}

// One network fault: `action` with `keys` (each "key = value" line), at 1s.
std::string fault(std::string const& action, std::string const& keys) {
  return "name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"" + action + "\"\n" + keys;
}

TEST(NetworkFaults, EachKindParsesItsLinkAndKnob) {
  auto s = parse_scenario(R"(name = "t"
[[fault]]
at = "10%"
action = "latency"
between = "users/gateway 1"
latency = "300ms"
lasting = "2s"
[[fault]]
at = "20%"
action = "loss"
between = "gateway 2/registry"
loss = "25%"
lasting = "1s"
[[fault]]
at = "30%"
action = "partition"
between = "users/gateway 3"
lasting = "500ms"
)",
                          "t.toml");
  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::latency);
  EXPECT_EQ(s.faults[0].between.kind, LinkKind::users_gateway);
  EXPECT_EQ(s.faults[0].between.gateway, 1);
  EXPECT_EQ(s.faults[0].latency_ms, 300);
  EXPECT_EQ(s.faults[1].between.kind, LinkKind::gateway_registry);
  EXPECT_EQ(s.faults[1].between.gateway, 2);
  EXPECT_EQ(s.faults[1].loss_percent, 25);
  EXPECT_EQ(s.faults[2].kind, FaultKind::partition);
  EXPECT_EQ(s.faults[2].lasting_ms, 500);
  EXPECT_EQ(fault_plan(s, 10'000),
            (std::vector<std::string>{"at 1s (10%): latency users/gateway 1 +300ms for 2s [t.toml:3]",
                                      "at 2s (20%): loss gateway 2/registry 25% for 1s [t.toml:9]",
                                      "at 3s (30%): partition users/gateway 3 for 500ms [t.toml:15]"}));
  // Only the gateways named on a users' link get a proxy in front of them.
  EXPECT_EQ(gateways_with_user_links(s), (std::vector<int>{1, 3}));
  EXPECT_TRUE(gateways_with_user_links(find_scenario("crash-and-deploy")).empty());
}

TEST(NetworkFaults, MissingOrMalformedKeysAreRefusedByLineAndKey) {
  EXPECT_EQ(error_of(fault("partition", "lasting = \"1s\"\n")),
            "t.toml:2: key 'fault[1].between': missing; a partition needs its link, like \"users/gateway 1\"");
  EXPECT_EQ(error_of(fault("latency", "between = \"users/gateway 1\"\nlasting = \"1s\"\n")),
            "t.toml:2: key 'fault[1].latency': missing; a latency needs the delay to add, like \"300ms\"");
  EXPECT_EQ(error_of(fault("loss", "between = \"users/gateway 1\"\nlasting = \"1s\"\n")),
            "t.toml:2: key 'fault[1].loss': missing; a loss needs the share of connections to reset, like \"20%\"");
  EXPECT_EQ(error_of(fault("loss", "between = \"users/gateway 1\"\nlasting = \"1s\"\nloss = \"12.5%\"\n")),
            "t.toml:7: key 'fault[1].loss': expected a whole share of connections like \"20%\" (1% to 100%), got "
            "\"12.5%\"");
  EXPECT_NE(error_of(fault("loss", "between = \"users/gateway 1\"\nlasting = \"1s\"\nloss = \"0%\"\n"))
                .find("t.toml:7: key 'fault[1].loss'"),
            std::string::npos);
  EXPECT_EQ(error_of(fault("partition", "between = \"users/gateway 1\"\n")),
            "t.toml:2: key 'fault[1].lasting': missing; a partition needs to know how long, like \"2s\"");
  for (char const* bad : {"users/gateway 0", "users/gateway", "gateway x/registry", "gateway /registry",
                          "users/gateway 1 ", "gateways/server 0", "gateways/server", "registry/gateway 1"}) {
    std::string error = error_of(fault("partition", "lasting = \"1s\"\nbetween = \"" + std::string(bad) + "\"\n"));
    EXPECT_EQ(error.rfind("t.toml:6: key 'fault[1].between': ", 0), 0u) << bad << ": " << error;
  }
  EXPECT_NE(error_of(fault("partition", "between = \"users/gateway 1\"\nlasting = \"1s\"\ntarget = 1\n"))
                .find("t.toml:7: key 'fault[1].target': does not apply to a partition fault"),
            std::string::npos);
  EXPECT_NE(error_of(fault("latency", "between = \"users/gateway 1\"\nlasting = \"1s\"\nlatency = \"1s\"\nloss = \"5%\"\n"))
                .find("t.toml:8: key 'fault[1].loss': does not apply to a latency fault (only to loss)"),
            std::string::npos);
  EXPECT_NE(error_of(fault("kill", "between = \"users/gateway 1\"\n"))
                .find("t.toml:5: key 'fault[1].between': does not apply to a kill fault (only to latency, loss and "
                      "partition)"),
            std::string::npos);
}

TEST(NetworkFaults, ARunWithoutTheLinksPartsRefusesThem) {
  auto users = parse_scenario(fault("partition", "between = \"users/gateway 2\"\nlasting = \"1s\"\n"), "t.toml");
  EXPECT_NE(fits_error(users, 1, false).find("fault 1 (partition users/gateway 2): there is no gateway 2 (--gateways 1)"),
            std::string::npos);
  EXPECT_EQ(fits_error(users, 2, false), "");  // a users' link needs no registry
  auto registry = parse_scenario(fault("latency", "between = \"gateway 1/registry\"\nlasting = \"1s\"\nlatency = \"50ms\"\n"),
                                 "t.toml");
  EXPECT_NE(fits_error(registry, 1, false).find("needs a registry: run with --registry etcd"), std::string::npos);
  EXPECT_EQ(fits_error(registry, 1, true), "");
  // A server's link: its position among the servers running when it fires (3, one killed before).
  auto server = parse_scenario(R"(name = "t"
[[fault]]
at = "1s"
action = "kill"
target = 1
[[fault]]
at = "2s"
action = "partition"
between = "gateways/server 3"
lasting = "1s"
)",
                               "t.toml");
  EXPECT_EQ(server.faults[1].between.kind, LinkKind::gateways_server);
  EXPECT_TRUE(has_server_links(server));
  EXPECT_FALSE(has_server_links(registry));
  EXPECT_NE(fits_error(server, 1, false).find("fault 2 (partition gateways/server 3) fires when 2 server(s) run; "
                                              "there is no server 3"),
            std::string::npos);
  server.faults.erase(server.faults.begin());
  EXPECT_EQ(fits_error(server, 1, false), "");
}

constexpr char kTruthPage[] =
    "# TYPE outboard_gateway_backend_failures_total counter\n"
    "outboard_gateway_backend_failures_total{backend=\"127.0.0.1:1001\"} 3\n"
    "outboard_gateway_backend_failures_total{backend=\"127.0.0.1:1002\"} 0\n"
    "outboard_gateway_backend_failures_total_other{backend=\"127.0.0.1:1001\"} 50\n"
    "outboard_gateway_registry_convergence_seconds_bucket{le=\"0.005\"} 1\n"
    "outboard_gateway_registry_convergence_seconds_bucket{le=\"0.1\"} 3\n"
    "outboard_gateway_registry_convergence_seconds_bucket{le=\"2.5\"} 3\n"
    "outboard_gateway_registry_convergence_seconds_bucket{le=\"+Inf\"} 4\n"
    "outboard_gateway_registry_convergence_seconds_sum 12.5\n"
    "outboard_gateway_registry_convergence_seconds_count 4\n";

TEST(TruthMetrics, ALabelledFamilyIsReadByItsLabelOnly) {
  auto v = values_by_label(kTruthPage, "outboard_gateway_backend_failures_total", "backend");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v["127.0.0.1:1001"], 3);  // not the _other family's 50
  EXPECT_EQ(v["127.0.0.1:1002"], 0);
  EXPECT_TRUE(values_by_label(kTruthPage, "outboard_gateway_backend_failures_total", "end").empty());
}

TEST(TruthMetrics, AHistogramIsReadMergedAndGivesBucketBounds) {
  auto h = read_histogram(kTruthPage, "outboard_gateway_registry_convergence_seconds");
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->cumulative.size(), 4u);
  EXPECT_TRUE(std::isinf(h->cumulative.back().first));
  EXPECT_EQ(h->count(), 4u);
  EXPECT_DOUBLE_EQ(histogram_bound(*h, 0.25), 0.005);
  EXPECT_DOUBLE_EQ(histogram_bound(*h, 0.5), 0.1);
  EXPECT_DOUBLE_EQ(histogram_bound(*h, 1.0), 2.5);  // in +Inf: the largest finite bound
  Histogram merged;
  EXPECT_TRUE(merge_histogram(merged, *h));
  EXPECT_TRUE(merge_histogram(merged, *h));
  EXPECT_EQ(merged.count(), 8u);
  EXPECT_EQ(merged.cumulative[1].second, 6u);
  Histogram other{{{1.0, 1}, {INFINITY, 1}}};
  EXPECT_FALSE(merge_histogram(merged, other));
  EXPECT_EQ(merged.count(), 8u);
  EXPECT_DOUBLE_EQ(histogram_bound(Histogram{}, 0.5), 0.0);
  EXPECT_FALSE(read_histogram("nothing 1\n", "outboard_gateway_registry_convergence_seconds").has_value());
}

std::optional<std::string> revision_page(int revision) {
  return "outboard_gateway_registry_revision " + std::to_string(revision) + "\n";
}

TEST(TruthWatchFigures, RevisionsDifferOnlyAmongGatewaysThatAnswered) {
  EXPECT_FALSE(revisions_differ({revision_page(7), revision_page(7)}));
  EXPECT_TRUE(revisions_differ({revision_page(7), revision_page(8)}));
  EXPECT_FALSE(revisions_differ({revision_page(7), std::nullopt, revision_page(7)}));  // a dead gateway
  EXPECT_FALSE(revisions_differ({revision_page(7), std::string("no registry 1\n")}));
}

TEST(TruthWatchFigures, OnlyFailuresWhileTheServerWasGoneAreRoutedToGone) {
  TruthWatch watch;
  watch.failures.resize(2);
  // Gateway 1: 2 failures before the stop (a server failing while alive), then 3 while it was gone.
  watch.failures[0]["127.0.0.1:1"] = {{0, 0}, {100, 2}, {200, 2}, {300, 5}};
  // Gateway 2 restarted in the window: its counter starts again at 0, then reads 4.
  watch.failures[1]["127.0.0.1:1"] = {{200, 9}, {300, 4}};
  // Another server, never stopped.
  watch.failures[0]["127.0.0.1:2"] = {{0, 0}, {300, 50}};
  std::vector<Absence> absences{{"127.0.0.1:1", 250, std::nullopt}};
  EXPECT_EQ(routed_to_gone(watch, absences), 3 + 4);
  // Back at 260: growth in the stretch 200-300 still overlaps the absence; none after it.
  absences[0].until_ms = 260;
  watch.failures[0]["127.0.0.1:1"].push_back({400, 8});
  EXPECT_EQ(routed_to_gone(watch, absences), 3 + 4);
  EXPECT_EQ(routed_to_gone(watch, {}), 0);
}

}  // namespace
}  // namespace outboard::lab
