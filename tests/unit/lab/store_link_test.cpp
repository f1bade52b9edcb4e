// The network faults between the servers and the store (`between = "servers/store"` and
// `"server N/store"`): strict parsing, the text each link is named by (and read back from), and the
// runs that refuse them before anything starts because their store is not a process the lab
// reaches over TCP.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lab/scenario.hpp"

namespace outboard::lab {
namespace {

// One network fault `action` on `between`, at 1s, lasting 2s (line 6 holds `between`).
std::string store_link_fault(std::string const& between, std::string const& action = "partition") {
  return "name = \"t\"\n[[fault]]\nat = \"1s\"\naction = \"" + action + "\"\nlasting = \"2s\"\nbetween = \"" +
         between + "\"\n" + (action == "latency" ? "latency = \"100ms\"\n" : "");
}

std::string store_link_parse_error(std::string const& toml) {
  try {
    parse_scenario(toml, "t.toml");
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "(no ScenarioError)";
}

// check_scenario_fits for 2 servers, 10 s, 1 gateway, no registry.
std::string store_link_fits_error(Scenario const& s, bool store_is_a_process, StoreEngines engines = {}) {
  try {
    check_scenario_fits(s, 2, 10'000, store_is_a_process, 1, false, engines);
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "";
}

TEST(StoreLinks, BothFormsParse) {
  auto every = parse_scenario(store_link_fault("servers/store"), "t.toml");
  ASSERT_EQ(every.faults.size(), 1u);
  EXPECT_EQ(every.faults[0].between, (FaultLink{LinkKind::servers_store, 0}));
  auto one = parse_scenario(store_link_fault("server 2/store", "latency"), "t.toml");
  EXPECT_EQ(one.faults[0].between, (FaultLink{LinkKind::server_store, 2}));
  EXPECT_EQ(one.faults[0].latency_ms, 100);
  EXPECT_EQ(fault_plan(every, 10'000), (std::vector<std::string>{"at 1s: partition servers/store for 2s [t.toml:3]"}));
  EXPECT_EQ(fault_plan(one, 10'000),
            (std::vector<std::string>{"at 1s: latency server 2/store +100ms for 2s [t.toml:3]"}));
}

TEST(StoreLinks, EveryLinkReadsBackFromItsDescription) {
  for (FaultLink link : {FaultLink{LinkKind::users_gateway, 2}, FaultLink{LinkKind::gateway_registry, 3},
                         FaultLink{LinkKind::gateways_server, 4}, FaultLink{LinkKind::servers_store, 0},
                         FaultLink{LinkKind::server_store, 12}}) {
    std::string text = describe_link(link);
    SCOPED_TRACE(text);
    auto s = parse_scenario(store_link_fault(text), "t.toml");
    EXPECT_EQ(s.faults[0].between, link);
  }
  EXPECT_EQ(describe_link({LinkKind::servers_store, 0}), "servers/store");
  EXPECT_EQ(describe_link({LinkKind::server_store, 1}), "server 1/store");
}

TEST(StoreLinks, MalformedLinksAreRefusedByLineAndKey) {
  for (char const* bad : {"server 0/store", "server/store", "server /store", "server x/store", "servers/store ",
                          "servers/store 1", "server 1/stores", "store/servers", "servers/ store", "Server 1/store"}) {
    std::string error = store_link_parse_error(store_link_fault(bad));
    EXPECT_EQ(error.rfind("t.toml:6: key 'fault[1].between': ", 0), 0u) << bad << ": " << error;
  }
  std::string error = store_link_parse_error(store_link_fault("server 1/stores"));
  EXPECT_NE(error.find(R"("servers/store" or "server N/store", got "server 1/stores")"), std::string::npos) << error;
}

TEST(StoreLinks, OnlyARunWithAStoreLinkPlansProxiesForIt) {
  EXPECT_TRUE(has_store_links(parse_scenario(store_link_fault("servers/store"), "t.toml")));
  EXPECT_TRUE(has_store_links(parse_scenario(store_link_fault("server 1/store", "latency"), "t.toml")));
  EXPECT_FALSE(has_store_links(parse_scenario(store_link_fault("gateways/server 1"), "t.toml")));
  EXPECT_FALSE(has_server_links(parse_scenario(store_link_fault("server 1/store"), "t.toml")));
  EXPECT_FALSE(has_store_links(find_scenario("crash-and-deploy")));
  EXPECT_TRUE(is_store_link(LinkKind::server_store));
  EXPECT_FALSE(is_store_link(LinkKind::gateways_server));
}

TEST(StoreLinks, ARunWhoseStoreIsNoTcpProcessRefusesThemWithTheReason) {
  auto s = parse_scenario(store_link_fault("servers/store"), "t.toml");
  std::string const who = "scenario 't': fault 1 (partition servers/store): ";
  EXPECT_EQ(store_link_fits_error(s, false),
            who + "the sqlite store is embedded in each server, there is no link to cut; run with --store redis or "
                  "--data postgres");
  EXPECT_EQ(store_link_fits_error(s, false, {.redis_cluster = true}),
            who + "the Redis Cluster's nodes announce their own addresses to the servers, so no proxy can sit in "
                  "front of them; add --data postgres to cut the servers' link to PostgreSQL (the sessions' link to "
                  "the cluster stays)");
  std::string external = store_link_fits_error(s, false, {.external_redis = true});
  EXPECT_NE(external.find("a --store redis://... is the operator's store"), std::string::npos) << external;
  // A store the lab starts and reaches over TCP: the private redis, or PostgreSQL (its link alone
  // when the sessions live elsewhere).
  EXPECT_EQ(store_link_fits_error(s, true), "");
  EXPECT_EQ(store_link_fits_error(s, false, {.redis_cluster = true, .postgres = true}), "");
  EXPECT_EQ(store_link_fits_error(s, false, {.postgres = true}), "");
  EXPECT_EQ(store_link_fits_error(s, false, {.postgres = true, .external_redis = true}), "");
}

TEST(StoreLinks, OneServersLinkNeedsThatServerWhenItFires) {
  auto s = parse_scenario(store_link_fault("server 3/store"), "t.toml");
  EXPECT_EQ(store_link_fits_error(s, true),
            "scenario 't': fault 1 (partition server 3/store) fires when 2 server(s) run; there is no server 3");
  EXPECT_EQ(store_link_fits_error(parse_scenario(store_link_fault("server 2/store"), "t.toml"), true), "");
  // The store is checked before the position: the run cannot have the link at all.
  EXPECT_NE(store_link_fits_error(s, false).find("the sqlite store is embedded"), std::string::npos);
}

TEST(StoreLinks, TheBuiltInCutsEveryServerMidRunInTheStatelessDesign) {
  Scenario const s = find_scenario("store-partition");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::partition);
  EXPECT_EQ(s.faults[0].between.kind, LinkKind::servers_store);
  EXPECT_EQ(s.default_modes, (std::vector<std::string>{"stateless"}));
  EXPECT_TRUE(has_store_links(s));
  EXPECT_EQ(store_link_fits_error(s, true), "");
  std::string sqlite = store_link_fits_error(s, false);
  EXPECT_NE(sqlite.find("scenario 'store-partition': fault 1 (partition servers/store): the sqlite"), std::string::npos)
      << sqlite;
}

}  // namespace
}  // namespace outboard::lab
