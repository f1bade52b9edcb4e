// The admin API of `outboard gateway` (its own port): listing backends with their state and
// counters, adding, removing, re-weighting and draining them while traffic flows, and refusing
// bad input. Real processes over loopback; every wait is bounded.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "support/backend_tally.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

Tally send(std::uint16_t port, int n, std::string const& target = "/") {
  Tally tally;
  KeepAliveClient client(port);
  for (int i = 0; i < n; ++i) {
    auto res = client.get(target);
    EXPECT_EQ(res.status, 200) << "request " << i << ": " << res.body;
    ++tally[res.header("X-Served-By").value_or("(none)")];
  }
  return tally;
}

std::set<std::string> ids(nlohmann::json const& backends) {
  std::set<std::string> out;
  for (auto const& b : backends) out.insert(b.value("id", ""));
  return out;
}

TEST(GatewayAdmin, ListsBackendsWithStateAndCounters) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  GatewayProcess gateway(o);
  send(gateway.port(), 10);
  // The client has its last answer a moment before the gateway counts that request finished.
  nlohmann::json list;
  EXPECT_TRUE(wait_until([&] {
    list = gateway.backends();
    for (auto const& entry : list) {
      if (entry.value("in_flight", -1) != 0) return false;
    }
    return true;
  }, 5s)) << "requests still in flight after every answer arrived: " << list.dump();

  ASSERT_EQ(list.size(), 2u) << list.dump();
  EXPECT_EQ(ids(list), (std::set<std::string>{a.address(), b.address()}));
  std::uint64_t requests = 0;
  for (auto const& entry : list) {
    EXPECT_EQ(entry.value("state", ""), "up") << entry.dump();
    EXPECT_EQ(entry.value("weight", -1), 1) << entry.dump();
    EXPECT_EQ(entry.value("in_flight", -1), 0) << entry.dump();
    EXPECT_EQ(entry.value("failures", -1), 0) << entry.dump();
    EXPECT_EQ(entry.value("ejections", -1), 0) << entry.dump();
    EXPECT_EQ(entry.value("requests", std::uint64_t{0}), 5u) << entry.dump();
    requests += entry.value("requests", std::uint64_t{0});
  }
  EXPECT_EQ(requests, 10u);

  auto one = gateway.admin("GET", "/backends/" + a.address());
  EXPECT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json().value("id", ""), a.address()) << one.body;

  auto metrics = gateway.admin("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(a.address()), std::string::npos) << "per-backend metrics missing:\n" << metrics.body;
}

TEST(GatewayAdmin, AddRemoveAndReweightWhileServing) {
  TestBackend a("a"), b("b"), c("c");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  GatewayProcess gateway(o);
  Tally before = send(gateway.port(), 10);
  EXPECT_EQ(before[c.name()], 0);

  // Add c: it takes its share at once.
  auto added = gateway.admin("POST", "/backends", R"({"address":")" + c.address() + R"(","weight":1})");
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(added.json().value("id", ""), c.address()) << added.body;
  EXPECT_EQ(ids(gateway.backends()), (std::set<std::string>{a.address(), b.address(), c.address()}));
  Tally with_c = send(gateway.port(), 30);
  EXPECT_EQ(with_c[a.name()], 10) << describe(with_c);
  EXPECT_EQ(with_c[b.name()], 10) << describe(with_c);
  EXPECT_EQ(with_c[c.name()], 10) << describe(with_c);

  // Remove a: it gets nothing more.
  auto removed = gateway.admin("DELETE", "/backends/" + a.address());
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(ids(gateway.backends()), (std::set<std::string>{b.address(), c.address()}));
  std::uint64_t a_before = a.count("/");
  Tally without_a = send(gateway.port(), 30);
  EXPECT_EQ(without_a[a.name()], 0) << describe(without_a);
  EXPECT_EQ(a.count("/"), a_before) << "a removed backend still received requests";
  EXPECT_EQ(without_a[b.name()] + without_a[c.name()], 30) << describe(without_a);

  // Weight 3 for b: 3 in 4 requests.
  auto heavier = gateway.admin("PUT", "/backends/" + b.address(), R"({"weight":3})");
  ASSERT_EQ(heavier.status, 200) << heavier.body;
  EXPECT_EQ(heavier.json().value("weight", 0), 3) << heavier.body;
  EXPECT_EQ(gateway.backend(b.address()).value("weight", 0), 3);
  Tally weighted = send(gateway.port(), 80);
  EXPECT_NEAR(weighted[b.name()], 60, 2) << describe(weighted);
  EXPECT_NEAR(weighted[c.name()], 20, 2) << describe(weighted);

  // Weight 0: no traffic at all.
  auto zero = gateway.admin("PUT", "/backends/" + c.address(), R"({"weight":0})");
  ASSERT_EQ(zero.status, 200) << zero.body;
  Tally only_b = send(gateway.port(), 20);
  EXPECT_EQ(only_b[b.name()], 20) << describe(only_b);
}

TEST(GatewayAdmin, RefusesBadInput) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  GatewayProcess gateway(o);
  std::string id = a.address();

  struct Case {
    std::string method, target, body;
    int status;
  };
  std::vector<Case> cases{
      {"POST", "/backends", "not json", 400},
      {"POST", "/backends", "[1, 2]", 400},
      {"POST", "/backends", "{}", 400},
      {"POST", "/backends", R"({"address": 5})", 400},
      {"POST", "/backends", R"({"address": "no-port"})", 400},
      {"POST", "/backends", R"({"address": "127.0.0.1:0"})", 400},
      {"POST", "/backends", R"({"address": "127.0.0.1:70000"})", 400},
      {"POST", "/backends", R"({"address": "127.0.0.1:1", "weight": -1})", 400},
      {"POST", "/backends", R"({"address": "127.0.0.1:1", "weight": 1001})", 400},
      {"POST", "/backends", R"({"address": "127.0.0.1:1", "weight": "3"})", 400},
      {"POST", "/backends", R"({"address": ")" + id + R"("})", 409},
      {"DELETE", "/backends/127.0.0.1:1", "", 404},
      {"PUT", "/backends/127.0.0.1:1", R"({"weight": 2})", 404},
      {"POST", "/backends/127.0.0.1:1/drain", "", 404},
      {"PUT", "/backends/" + id, "not json", 400},
      {"PUT", "/backends/" + id, R"({"weight": -5})", 400},
      {"PUT", "/backends/" + id, R"({"weight": 2.5})", 400},
      {"POST", "/backends/" + id + "/explode", "", 404},
      {"GET", "/nothing-here", "", 404},
      {"PATCH", "/backends", "{}", 405},
  };
  for (auto const& c : cases) {
    auto res = gateway.admin(c.method, c.target, c.body);
    EXPECT_EQ(res.status, c.status) << c.method << " " << c.target << " " << c.body << " → " << res.body;
    if (res.status >= 400) {
      EXPECT_TRUE(res.json().is_object() && res.json().contains("error")) << "not a JSON error: " << res.body;
    }
  }
  // None of it changed anything.
  auto list = gateway.backends();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0].value("weight", 0), 1) << list.dump();
  EXPECT_EQ(list[0].value("state", ""), "up") << list.dump();
  EXPECT_EQ(send(gateway.port(), 3)[a.name()], 3);
}

TEST(GatewayAdmin, DrainFinishesInFlightRequestsAndTakesNoNewOnes) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  GatewayProcess gateway(o);

  std::optional<HttpResponse> slow;
  std::string slow_error;
  std::jthread in_flight([&] {  // joins on every way out, a failed ASSERT too
    try {
      HttpClient client(gateway.port());
      slow = client.get("/slow?ms=1500");
    } catch (std::exception const& e) {
      slow_error = e.what();
    }
  });
  TestBackend* busy = nullptr;
  ASSERT_TRUE(wait_until([&] {
    if (a.count("/slow") == 1) busy = &a;
    if (b.count("/slow") == 1) busy = &b;
    return busy != nullptr;
  }, 10s)) << "the slow request reached no backend";
  TestBackend& idle = busy == &a ? b : a;

  auto drained = gateway.admin("POST", "/backends/" + busy->address() + "/drain");
  ASSERT_EQ(drained.status, 200) << drained.body;
  EXPECT_EQ(drained.json().value("state", ""), "draining") << drained.body;
  auto entry = gateway.backend(busy->address());
  EXPECT_EQ(entry.value("state", ""), "draining") << entry.dump();
  EXPECT_EQ(entry.value("in_flight", -1), 1) << entry.dump();

  Tally during = send(gateway.port(), 20);
  EXPECT_EQ(during[idle.name()], 20) << "new requests went to the draining backend: " << describe(during);

  in_flight.join();
  ASSERT_EQ(slow_error, "");
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->status, 200) << slow->body;
  EXPECT_EQ(slow->header("X-Served-By"), busy->name()) << "the in-flight request did not finish where it started";
  EXPECT_TRUE(wait_until([&] { return gateway.backend(busy->address()).value("in_flight", -1) == 0; }, 5s))
      << gateway.backend(busy->address()).dump();

  auto undrained = gateway.admin("POST", "/backends/" + busy->address() + "/undrain");
  ASSERT_EQ(undrained.status, 200) << undrained.body;
  EXPECT_EQ(undrained.json().value("state", ""), "up") << undrained.body;
  Tally after = send(gateway.port(), 20);
  EXPECT_EQ(after[busy->name()], 10) << describe(after);
}

TEST(GatewayAdmin, WithEveryBackendDrainedRequestsGet503AndTheGatewayStays) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  GatewayProcess gateway(o);
  for (auto* backend : {&a, &b}) {
    ASSERT_EQ(gateway.admin("POST", "/backends/" + backend->address() + "/drain").status, 200);
  }
  HttpClient client(gateway.port());
  auto res = client.get("/");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(res.json().value("error", ""), "no_backend") << res.body;
  EXPECT_EQ(a.count() + b.count(), 0u);

  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(gateway.running()) << "the gateway exited after answering 503 (status "
                                 << gateway.wait_exit(0).value_or(-1) << ")";
  ASSERT_EQ(gateway.admin("POST", "/backends/" + a.address() + "/undrain").status, 200);
  EXPECT_EQ(client.get("/").status, 200);
}

}  // namespace
}  // namespace outboard::testing

namespace outboard::testing {
namespace {

// The admin plane's own rules (admin_auth.hpp), against a real gateway: a change needs the
// token, JSON, and no Origin; nothing refused reaches the pool, and each refusal is audited.
TEST(GatewayAdminAuth, RefusesRequestsWithoutTheTokenAndCrossSiteChanges) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  GatewayProcess gateway(o);
  std::string bearer = "Bearer " + gateway.admin_token();
  std::string add = R"({"address":"127.0.0.1:1","weight":1})";
  HttpClient client(gateway.admin_port());

  auto anonymous = client.request("GET", "/backends");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.header("WWW-Authenticate"), std::optional<std::string>("Bearer"));
  EXPECT_EQ(anonymous.json().value("error", ""), "unauthorized");
  EXPECT_EQ(client.request("GET", "/metrics", {}, {{"Authorization", "Bearer not-the-token"}}).status, 401);
  EXPECT_EQ(client.request("POST", "/backends", add).status, 401);
  EXPECT_EQ(client.request("GET", "/healthz").status, 200) << "liveness stays open to probes";

  // What a web page in the operator's browser can send: a form POST (no preflight), with Origin.
  auto form = client.request("POST", "/backends", "address=127.0.0.1:1",
                             {{"Origin", "https://evil.example"}, {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 403);
  EXPECT_EQ(form.json().value("error", ""), "cross_origin");
  // Even holding the token, a browser's request (Origin) is refused, and so is a non-JSON body.
  EXPECT_EQ(client.request("POST", "/backends", add, {{"Authorization", bearer}, {"Origin", "null"}}).status, 403);
  EXPECT_EQ(client.request("POST", "/backends", add, {{"Authorization", bearer}, {"Content-Type", "text/plain"}}).status,
            415);
  EXPECT_EQ(client.request("POST", "/backends/" + a.address() + "/drain", {},
                           {{"Authorization", bearer}, {"Content-Type", "text/plain"}})
                .status,
            415);
  auto backends = gateway.backends();
  ASSERT_EQ(backends.size(), 1u) << backends.dump();
  EXPECT_EQ(backends[0].value("state", ""), "up") << "a refused drain drained nothing";

  // The operator's tool: the token and JSON.
  EXPECT_EQ(gateway.admin("POST", "/backends", add).status, 201);
  EXPECT_EQ(gateway.backends().size(), 2u);
  auto log = gateway.log();
  EXPECT_NE(log.find(R"("audit":"admin")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("status":403)"), std::string::npos) << "refusals are audited: " << log;
  EXPECT_NE(log.find(R"("status":201)"), std::string::npos) << "changes are audited: " << log;
  EXPECT_EQ(log.find(gateway.admin_token()), std::string::npos) << "the token never reaches the log";
}

TEST(GatewayAdminAuth, CreatesTheTokenFileOwnerOnlyAndRefusesOneOthersCanRead) {
  TestBackend a("a");
  {
    GatewayOptions o;
    o.backends = {a.address()};
    GatewayProcess gateway(o);
    struct stat st {};
    ASSERT_EQ(::stat(gateway.admin_token_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(gateway.admin_token().size(), 64u);
    EXPECT_NE(gateway.log().find(gateway.admin_token_path().string()), std::string::npos) << "the path is logged";
  }
  TempDir dir;
  auto token = dir / "admin.token";
  { std::ofstream(token) << "a-token-anyone-on-the-host-can-read\n"; }
  ::chmod(token.c_str(), 0644);
  GatewayOptions o;
  o.backends = {a.address()};
  o.admin_token_file = token;
  o.wait_ready = false;
  GatewayProcess gateway(o);
  auto code = gateway.wait_exit(20'000);
  ASSERT_TRUE(code.has_value()) << "a gateway with a world-readable token file must not start";
  EXPECT_NE(*code, 0);
  auto log = gateway.log();
  EXPECT_NE(log.find("admin.token_file"), std::string::npos) << log;
  EXPECT_NE(log.find(token.string()), std::string::npos) << log;
  EXPECT_EQ(log.find("a-token-anyone"), std::string::npos) << "the secret is not echoed: " << log;
}

}  // namespace
}  // namespace outboard::testing
