// Several gateways, one truth (docs/TRUTH.md): `outboard serve` processes register themselves in
// a real etcd (started per test on free loopback ports), and two `outboard gateway` processes
// learn their backends from it alone (no static backends). Nothing here is timed: each wait only
// stops a hang.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>

#include "lab/etcd_cluster.hpp"
#include "support/free_port.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/run_coro.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;
constexpr auto kLimit = 30s;

class RegistryGateways : public ::testing::Test {
 protected:
  void start(int etcd_members) {
    etcd_ = std::make_unique<lab::EtcdCluster>(dir_.path(), etcd_members);
    run_coro(io_, etcd_->start());
    for (int i = 0; i < 2; ++i) {
      GatewayOptions options;
      options.extra_args = {"--registry", etcd_->url(), "--registry-poll-ms", "100", "--registry-timeout-ms", "500",
                            "--health-interval-ms", "100", "--health-rise", "1"};
      gateways_.push_back(std::make_unique<GatewayProcess>(options));
    }
  }

  std::unique_ptr<ServeProcess> serve(std::string name, std::string deregister_delay_ms = "0") {
    ServeOptions options;
    options.name = std::move(name);
    options.extra_args = {"--registry", etcd_->url(), "--registry-ttl-s", "2", "--registry-timeout-ms", "500",
                          "--registry-deregister-delay-ms", deregister_delay_ms};
    return std::make_unique<ServeProcess>(options);
  }

  static std::string id_of(ServeProcess const& s) { return "127.0.0.1:" + std::to_string(s.port()); }

  // Every gateway lists the backend in this state ("up", "draining", ...); "" = lists it not at all.
  bool every_gateway_sees(std::string const& id, std::string const& state) {
    for (auto const& g : gateways_) {
      auto b = g->backend(id);
      if (state.empty() ? !b.is_null() : (b.is_null() || b["state"] != state)) return false;
    }
    return true;
  }

  // The instance that answered GET /healthz through the gateway (empty when it did not answer 200).
  static std::string served_by(GatewayProcess const& g) {
    HttpClient client(g.port());
    auto res = client.get("/healthz");
    return res.status == 200 ? res.header("X-Served-By").value_or("") : "";
  }

  static double metric(GatewayProcess const& g, std::string const& series) {
    HttpClient client(g.admin_port());
    auto res = client.request("GET", "/metrics", {}, {{"Authorization", "Bearer " + g.admin_token()}});
    EXPECT_TRUE(prometheus_text_problems(res.body).empty());
    auto samples = prometheus_samples(res.body);
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::vector<std::unique_ptr<GatewayProcess>> gateways_;
};

TEST_F(RegistryGateways, AServerThatRegistersIsRoutedToByBothAndLeavesBothWhenItDies) {
  start(1);
  auto a = serve("a");
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*a), "up"); }, kLimit));
  for (auto const& g : gateways_) {
    EXPECT_EQ(served_by(*g), a->instance());
    EXPECT_GT(metric(*g, "outboard_gateway_registry_revision"), 0);
    EXPECT_EQ(metric(*g, "outboard_gateway_registry_connected"), 1);
    EXPECT_GE(metric(*g, "outboard_gateway_registry_convergence_seconds_count"), 1);
  }
  a->signal(SIGKILL);  // no deregistration: the lease expires
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*a), ""); }, kLimit));
}

TEST_F(RegistryGateways, ADrainingServerGetsNoNewRequests) {
  start(1);
  auto a = serve("a", "60000");  // long enough to look at it while it says "draining"
  auto b = serve("b");
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*a), "up") && every_gateway_sees(id_of(*b), "up"); },
                         kLimit));
  a->signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*a), "draining"); }, kLimit));
  for (auto const& g : gateways_) {
    for (int i = 0; i < 6; ++i) EXPECT_EQ(served_by(*g), b->instance());
  }
}

TEST_F(RegistryGateways, AGatewayCutOffFromEtcdKeepsRoutingAndCatchesUpWhenItReturns) {
  start(1);
  auto a = serve("a");
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*a), "up"); }, kLimit));
  etcd_->kill(0);
  auto& g = *gateways_[0];
  ASSERT_TRUE(wait_until([&] { return metric(g, "outboard_gateway_registry_connected") == 0; }, kLimit));
  EXPECT_EQ(served_by(g), a->instance());  // the last truth stays in force
  EXPECT_TRUE(every_gateway_sees(id_of(*a), "up"));

  run_coro(io_, etcd_->restart(0));
  auto b = serve("b");
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*b), "up"); }, kLimit));
  EXPECT_TRUE(every_gateway_sees(id_of(*a), "up"));
  EXPECT_EQ(metric(g, "outboard_gateway_registry_connected"), 1);
}

TEST_F(RegistryGateways, TheEtcdLeadersDeathDoesNotStopRouting) {
  start(3);
  auto a = serve("a");
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*a), "up"); }, kLimit));
  auto leader = run_coro(io_, etcd_->leader());
  ASSERT_TRUE(leader.has_value());
  etcd_->kill(*leader);
  for (auto const& g : gateways_) EXPECT_EQ(served_by(*g), a->instance());
  auto b = serve("b");
  ASSERT_TRUE(wait_until([&] { return every_gateway_sees(id_of(*b), "up"); }, kLimit));
}

// Bad registry input: each refusal names the key, and nothing starts half-configured.
TEST(RegistryConfig, AnUnreachableRegistryStopsAGatewayWithoutStaticBackends) {
  std::string nobody = "etcd://127.0.0.1:" + std::to_string(free_port());
  TempDir dir;
  auto r = run_outboard({"gateway", "--registry", nobody, "--listen", "127.0.0.1:" + std::to_string(free_port()),
                         "--admin", "", "--registry-timeout-ms", "200"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot be read at start-up"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no static backends"), std::string::npos) << r.output;
}

TEST(RegistryConfig, MalformedRegistrySettingsAreRefusedByName) {
  auto r = run_outboard({"gateway", "--check", "--registry", "http://127.0.0.1:2379"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("flag --registry: 'http://127.0.0.1:2379': must start with etcd://"), std::string::npos) << r.output;
  r = run_outboard({"gateway", "--check", "--registry", "etcd://127.0.0.1:2379", "--registry-prefix", "members"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("flag --registry-prefix"), std::string::npos) << r.output;
  // Listening on every address, serve cannot know which one gateways reach it on.
  r = run_outboard({"serve", "--check", "--state", "memory://", "--listen", "0.0.0.0", "--registry",
                    "etcd://127.0.0.1:2379"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("registry.advertise"), std::string::npos) << r.output;
  r = run_outboard({"serve", "--check", "--state", "memory://", "--listen", "0.0.0.0", "--registry",
                    "etcd://127.0.0.1:2379", "--registry-advertise", "10.0.0.5:8080"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace outboard::testing
