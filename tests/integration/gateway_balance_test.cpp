// How `outboard gateway` spreads requests, policy by policy, observed from outside: real
// processes over loopback (the gateway and outboard_test_backend instances that name themselves
// in X-Served-By). One gateway thread, so every policy's picks form a single sequence.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/backend_tally.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {


std::vector<std::unique_ptr<TestBackend>> start_backends(int n) {
  std::vector<std::unique_ptr<TestBackend>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<TestBackend>(std::string(1, static_cast<char>('a' + i))));
  return out;
}

GatewayOptions options_for(std::vector<std::unique_ptr<TestBackend>> const& backends, std::string policy) {
  GatewayOptions o;
  for (auto const& b : backends) o.backends.push_back(b->address());
  o.policy = std::move(policy);
  return o;
}

// `clients` threads, each sending `per_client` GETs of `target` over its own keep-alive
// connection; every answer must be 200. Returns how many each backend served.
Tally spread(std::uint16_t port, int clients, int per_client, std::string const& target = "/") {
  std::vector<Tally> tallies(static_cast<std::size_t>(clients));
  std::vector<std::string> errors(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto i = static_cast<std::size_t>(c);
      try {
        KeepAliveClient client(port);
        for (int r = 0; r < per_client; ++r) {
          auto res = client.get(target);
          if (res.status != 200) {
            errors[i] = "request " + std::to_string(r) + " answered " + std::to_string(res.status) + ": " + res.body;
            return;
          }
          ++tallies[i][res.header("X-Served-By").value_or("(none)")];
        }
      } catch (std::exception const& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  Tally total;
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    EXPECT_EQ(errors[i], "") << "client " << i;
    for (auto const& [k, v] : tallies[i]) total[k] += v;
  }
  return total;
}

// Every backend served within ±tolerance of an equal share.
void expect_even(Tally const& tally, std::vector<std::unique_ptr<TestBackend>> const& backends, int total,
                 double tolerance) {
  double share = static_cast<double>(total) / static_cast<double>(backends.size());
  for (auto const& b : backends) {
    int got = tally.count(b->name()) ? tally.at(b->name()) : 0;
    EXPECT_GE(got, share * (1 - tolerance)) << b->name() << " got too few: " << describe(tally);
    EXPECT_LE(got, share * (1 + tolerance)) << b->name() << " got too many: " << describe(tally);
  }
  EXPECT_EQ(tally.size(), backends.size()) << "answers from unknown backends: " << describe(tally);
}

TEST(GatewayBalance, RoundRobinAlternatesExactly) {
  auto backends = start_backends(3);
  GatewayProcess gateway(options_for(backends, "round_robin"));
  HttpClient client(gateway.port());
  std::vector<std::string> order;
  for (int i = 0; i < 300; ++i) {
    auto res = client.get("/");
    ASSERT_EQ(res.status, 200) << "request " << i << ": " << res.body;
    order.push_back(res.header("X-Served-By").value_or("(none)"));
  }
  std::set<std::string> first(order.begin(), order.begin() + 3);
  ASSERT_EQ(first.size(), 3u) << "the first three requests did not go to three backends";
  for (std::size_t i = 3; i < order.size(); ++i) {
    ASSERT_EQ(order[i], order[i % 3]) << "request " << i << " broke the rotation";
  }
  for (auto const& b : backends) EXPECT_EQ(b->count("/"), 100u) << b->name();
}

// One client at a time: nothing is outstanding at any pick, so equal backends must share evenly
// (ties rotate). With concurrent clients "equal" would depend on how the OS schedules three
// processes on a loaded machine, which is what a load-aware policy reacts to, as it should.
TEST(GatewayBalance, LeastOutstandingIsEvenOnEqualBackends) {
  auto backends = start_backends(3);
  GatewayProcess gateway(options_for(backends, "least_outstanding"));
  Tally tally = spread(gateway.port(), 1, 600);
  expect_even(tally, backends, 600, 0.15);
}

TEST(GatewayBalance, PowerOfTwoIsEvenOnEqualBackends) {
  auto backends = start_backends(3);
  GatewayProcess gateway(options_for(backends, "power_of_two"));
  Tally tally = spread(gateway.port(), 1, 1200);
  expect_even(tally, backends, 1200, 0.15);
}

// Under concurrent load, the load-aware policies send little to a backend that is slow (each of
// its requests takes 100 ms, the others answer at once), where round robin gives it a third.
void expect_slow_backend_avoided(std::string const& policy, double max_share) {
  auto backends = start_backends(3);
  GatewayProcess gateway(options_for(backends, policy));
  std::string const& slow = backends[0]->name();
  Tally tally = spread(gateway.port(), 4, 60, "/slow?ms=100&only=" + slow);
  EXPECT_LE(tally[slow], 240 * max_share) << policy << " kept sending to the slow backend: " << describe(tally);
  // It is not shunned either: whenever nothing waits on it, it is as good a pick as any.
  EXPECT_GE(tally[slow], 1) << "the slow backend got nothing at all: " << describe(tally);
}

TEST(GatewayBalance, LeastOutstandingAvoidsASlowBackend) { expect_slow_backend_avoided("least_outstanding", 0.15); }

TEST(GatewayBalance, PowerOfTwoAvoidsASlowBackend) { expect_slow_backend_avoided("power_of_two", 0.20); }

TEST(GatewayBalance, RoundRobinDoesNotAvoidASlowBackend) {
  // The control for the two above: the same load with round robin gives the slow backend its third.
  auto backends = start_backends(3);
  GatewayProcess gateway(options_for(backends, "round_robin"));
  std::string const& slow = backends[0]->name();
  Tally tally = spread(gateway.port(), 4, 30, "/slow?ms=50&only=" + slow);
  EXPECT_EQ(tally[slow], 40) << describe(tally);
}

TEST(GatewayBalance, ConsistentHashKeepsEachUserOnOneBackend) {
  auto backends = start_backends(3);
  GatewayOptions o = options_for(backends, "consistent_hash");
  o.extra_args = {"--hash-key", "header:X-User"};
  GatewayProcess gateway(o);
  KeepAliveClient client(gateway.port());
  std::map<std::string, std::string> home;  // user -> backend
  for (int round = 0; round < 5; ++round) {
    for (int u = 0; u < 30; ++u) {
      std::string user = "user-" + std::to_string(u);
      auto res = client.get("/", {{"X-User", user}});
      ASSERT_EQ(res.status, 200) << res.body;
      std::string served = res.header("X-Served-By").value_or("(none)");
      auto [it, inserted] = home.emplace(user, served);
      ASSERT_EQ(it->second, served) << user << " moved in round " << round;
    }
  }
  Tally users_per_backend;
  for (auto const& [user, backend] : home) ++users_per_backend[backend];
  // 30 users on 3 backends: every backend has some (a Maglev table gives each about a third; that
  // one holds none by chance is about 1 in 60 000).
  EXPECT_EQ(users_per_backend.size(), 3u) << describe(users_per_backend);
}

TEST(GatewayBalance, WeightsFromTheConfigFileSplitOneToThree) {
  auto backends = start_backends(2);
  GatewayOptions o;
  o.config = "[pool]\nbackends = [\"" + backends[0]->address() + " weight=1\", \"" + backends[1]->address() +
             " weight=3\"]\n";
  GatewayProcess gateway(o);
  auto listed = gateway.backends();
  ASSERT_EQ(listed.size(), 2u) << listed.dump();
  EXPECT_EQ(gateway.backend(backends[0]->address()).value("weight", 0), 1) << listed.dump();
  EXPECT_EQ(gateway.backend(backends[1]->address()).value("weight", 0), 3) << listed.dump();

  Tally tally = spread(gateway.port(), 1, 400);
  // Smooth weighted round robin on one thread: exactly 1 in 4.
  EXPECT_EQ(tally[backends[0]->name()], 100) << describe(tally);
  EXPECT_EQ(tally[backends[1]->name()], 300) << describe(tally);
}

TEST(GatewayBalance, WeightsAlsoApplyToPowerOfTwo) {
  auto backends = start_backends(2);
  GatewayOptions o;
  o.config = "[pool]\npolicy = \"power_of_two\"\nbackends = [\"" + backends[0]->address() + " weight=1\", \"" +
             backends[1]->address() + " weight=3\"]\n";
  GatewayProcess gateway(o);
  // One client: nothing is ever outstanding, so the weighted first draw decides every pick (with
  // concurrent clients the load comparison would even it out, as it should).
  Tally tally = spread(gateway.port(), 1, 800);
  double ratio = static_cast<double>(tally[backends[1]->name()]) / std::max(1, tally[backends[0]->name()]);
  EXPECT_GE(ratio, 2.3) << describe(tally);
  EXPECT_LE(ratio, 3.9) << describe(tally);
}

}  // namespace
}  // namespace outboard::testing
