// What a failing backend costs the clients of `outboard gateway`: cookie stickiness and its
// fallback, a backend SIGKILLed under load (nothing), a backend SIGSTOPped (tried at most once per
// request, waiting the first-byte timeout, then taken out), and which requests may be sent twice (POST only with an
// Idempotency-Key). Real processes over loopback; every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/serve_process.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// The ob_backend value the gateway sets, out of a Set-Cookie line ("" when absent).
std::string sticky_cookie_in(HttpResponse const& res) {
  for (auto const& line : res.headers_named("Set-Cookie")) {
    if (line.starts_with("ob_backend=")) return line.substr(11, line.find(';') - 11);
  }
  return "";
}

// After a gateway error answer, the process must still be there and serve the next request.
void expect_still_serving(GatewayProcess& gateway) {
  EXPECT_TRUE(gateway.running()) << "the gateway exited (status " << gateway.wait_exit(0).value_or(-1)
                                 << ") after answering an error";
  if (!gateway.running()) return;
  HttpClient client(gateway.port());
  EXPECT_EQ(client.get("/").status, 200);
}

TEST(GatewayFailover, CookieStickinessAndItsFallback) {
  TestBackend a("a"), b("b"), c("c");
  std::map<std::string, TestBackend*> by_name{{a.name(), &a}, {b.name(), &b}, {c.name(), &c}};
  GatewayOptions o;
  o.backends = {a.address(), b.address(), c.address()};
  o.policy = "cookie_sticky";
  GatewayProcess gateway(o);

  HttpClient client(gateway.port());
  auto first = client.get("/");
  ASSERT_EQ(first.status, 200) << first.body;
  // The cookie is an opaque token (sticky_token.hpp); which backend it pins is the one that answered.
  std::string cookie = sticky_cookie_in(first);
  ASSERT_FALSE(cookie.empty()) << "the first answer did not set ob_backend";
  ASSERT_TRUE(by_name.count(first.header("X-Served-By").value_or("")));
  TestBackend* home = by_name[*first.header("X-Served-By")];
  EXPECT_EQ(cookie.find("127.0.0.1"), std::string::npos) << "the cookie shows the backend's address: " << cookie;

  for (int i = 0; i < 20; ++i) {
    auto res = client.get("/");
    ASSERT_EQ(res.status, 200) << res.body;
    ASSERT_EQ(res.header("X-Served-By"), home->name()) << "request " << i << " left the sticky backend";
    EXPECT_EQ(sticky_cookie_in(res), "") << "the cookie was set again although the backend did not change";
  }
  // Without the cookie, the same client is spread like anyone else.
  std::map<std::string, int> cookieless;
  for (int i = 0; i < 9; ++i) {
    auto res = client.request("GET", "/", {}, {{"Cookie", "other=1"}});
    ASSERT_EQ(res.status, 200) << res.body;
    ++cookieless[res.header("X-Served-By").value_or("(none)")];
  }
  EXPECT_EQ(cookieless.size(), 3u) << "requests without the cookie did not reach every backend";
  ASSERT_EQ(client.cookie("ob_backend"), cookie) << "the cookieless answers changed the jar";

  home->kill();
  auto moved = client.get("/");
  ASSERT_EQ(moved.status, 200) << "the request for a dead sticky backend failed: " << moved.body;
  std::string new_cookie = sticky_cookie_in(moved);
  ASSERT_FALSE(new_cookie.empty()) << "the cookie was not rewritten";
  ASSERT_NE(new_cookie, cookie);
  ASSERT_TRUE(by_name.count(moved.header("X-Served-By").value_or("")));
  TestBackend* new_home = by_name[*moved.header("X-Served-By")];
  ASSERT_NE(new_home, home);
  for (int i = 0; i < 10; ++i) {
    auto res = client.get("/");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("X-Served-By"), new_home->name()) << "request " << i << " after the move";
  }
}

TEST(GatewayFailover, BackendKilledUnderLoadCostsNoFailedRequest) {
  std::vector<std::unique_ptr<ServeProcess>> backends;
  for (int i = 0; i < 3; ++i) {
    ServeOptions so;
    so.name = "kill" + std::to_string(i);
    so.threads = 1;
    backends.push_back(std::make_unique<ServeProcess>(so));
  }
  GatewayOptions o;
  for (auto const& b : backends) o.backends.push_back("127.0.0.1:" + std::to_string(b->port()));
  o.threads = 2;
  o.env = {{"OUTBOARD_GATEWAY_HEALTH_INTERVAL_MS", "200"}};
  GatewayProcess gateway(o);
  std::string victim = backends[1]->instance();

  constexpr int kRequests = 2000;
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::vector<std::string> failures;  // read only after the load thread ended
  std::map<std::string, int> served_before, served_after;
  std::atomic<bool> killed{false};
  std::jthread load([&] {  // joins on every way out, a failed ASSERT too
    auto deadline = std::chrono::steady_clock::now() + 90s;
    try {
      KeepAliveClient client(gateway.port());
      for (int i = 0; i < kRequests && std::chrono::steady_clock::now() < deadline; ++i) {
        bool after = killed.load();
        auto res = client.get("/healthz");
        if (res.status != 200) {
          failures.push_back("request " + std::to_string(i) + ": " + std::to_string(res.status) + " " + res.body);
          ++failed;
        }
        ++(after ? served_after : served_before)[res.header("X-Served-By").value_or("(none)")];
        done.store(i + 1);
      }
    } catch (std::exception const& e) {
      failures.push_back(std::string("exception after ") + std::to_string(done.load()) + " requests: " + e.what());
      ++failed;
    }
  });
  ASSERT_TRUE(wait_until([&] { return done.load() >= 500 || failed.load() > 0; }, 60s)) << "no progress";
  backends[1]->signal(SIGKILL);
  backends[1]->wait_exit(10'000);
  killed = true;
  load.join();

  EXPECT_EQ(done.load(), kRequests) << "the load did not finish in 90 s";
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed requests, first: "
                                << (failures.empty() ? "" : failures.front());
  EXPECT_GT(served_before[victim], 100) << "the victim took no share of the traffic before the kill";
  EXPECT_EQ(served_after[victim], 0) << "answers from a killed backend?";
  for (int i : {0, 2}) {
    EXPECT_GT(served_after[backends[static_cast<std::size_t>(i)]->instance()], 500) << "survivor " << i;
  }
  // And truth knows it: health checks take it down.
  std::string id = "127.0.0.1:" + std::to_string(backends[1]->port());
  std::string state;
  EXPECT_TRUE(wait_until([&] {
    state = gateway.backend(id).value("state", "");
    return state == "down";
  }, 10s)) << "the killed backend is still '" << state << "'";
}

// Attempts the gateway has sent to `backend` (its /metrics); what shows whether a request paid a
// hung backend's first-byte timeout, with no clock involved.
double attempts_sent_to(GatewayProcess const& gateway, TestBackend const& backend) {
  auto samples = prometheus_samples(gateway.admin("GET", "/metrics").body);
  auto it = samples.find("outboard_gateway_backend_requests_total{backend=\"" + backend.address() + "\"}");
  return it == samples.end() ? -1 : it->second;
}

TEST(GatewayFailover, HungBackendCostsAtMostTheFirstByteTimeoutThenIsTakenOut) {
  TestBackend a("a"), b("b"), c("c");
  GatewayOptions o;
  o.backends = {a.address(), b.address(), c.address()};
  // Panic off: on a loaded machine a and c may miss health checks too, and panic mode would then
  // send traffic to b on purpose (GATEWAY.md "Panic threshold"), which is not what this shows.
  o.extra_args = {"--first-byte-timeout-ms", "500", "--panic-threshold-percent", "0"};
  o.env = {{"OUTBOARD_GATEWAY_HEALTH_INTERVAL_MS", "100"}, {"OUTBOARD_GATEWAY_HEALTH_TIMEOUT_MS", "1000"}};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());
  for (int i = 0; i < 6; ++i) ASSERT_EQ(client.get("/").status, 200);

  b.signal(SIGSTOP);
  struct Resume {
    TestBackend& backend;
    ~Resume() { backend.signal(SIGCONT); }
  } resume{b};

  // Until truth takes b out, a request that lands on it waits the first-byte timeout and is then
  // retried on another backend: slower, never failed, and b is tried at most once per request.
  std::string state;
  int requests = 0;
  auto give_up = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < give_up) {
    double before = attempts_sent_to(gateway, b);
    auto res = client.get("/");
    ++requests;
    ASSERT_EQ(res.status, 200) << "request " << requests << " after SIGSTOP: " << res.body;
    EXPECT_NE(res.header("X-Served-By"), b.name());
    EXPECT_LE(attempts_sent_to(gateway, b) - before, 1) << "request " << requests << " tried the hung b twice";
    state = gateway.backend(b.address()).value("state", "");
    if (state == "down" || state == "ejected") break;
  }
  ASSERT_TRUE(state == "down" || state == "ejected") << "b is still '" << state << "' 30 s after SIGSTOP";

  // Taken out: no request is sent to b any more, so none pays its timeout.
  double taken_out_at = attempts_sent_to(gateway, b);
  ASSERT_GE(taken_out_at, 0);
  for (int i = 0; i < 30; ++i) {
    auto res = client.get("/");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_NE(res.header("X-Served-By"), b.name());
  }
  EXPECT_EQ(attempts_sent_to(gateway, b), taken_out_at) << "b was sent requests after it was taken out";

  // Resumed, it comes back and takes traffic again.
  b.signal(SIGCONT);
  EXPECT_TRUE(wait_until([&] {
    state = gateway.backend(b.address()).value("state", "");
    return state == "up";
  }, 10s)) << "b is still '" << state << "' after SIGCONT";
  std::map<std::string, int> served;
  for (int i = 0; i < 9; ++i) ++served[client.get("/").header("X-Served-By").value_or("")];
  EXPECT_GT(served[b.name()], 0) << "b took no traffic after it came back";
}

TEST(GatewayFailover, PostWithoutIdempotencyKeyIsNeverRetried) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());

  auto res = client.post("/reset", R"({"order": 1})");
  EXPECT_EQ(res.status, 502) << res.body;
  EXPECT_EQ(res.header("X-Outboard-Gateway"), "1");
  std::uint64_t on_a = a.count("/reset"), on_b = b.count("/reset");
  EXPECT_EQ(on_a + on_b, 1u) << "a saw " << on_a << ", b saw " << on_b << ": a POST without a key went out twice";
  EXPECT_EQ(a.count() + b.count(), 1u);
  // Bounded: the crash (if any) comes right after the answer.
  std::this_thread::sleep_for(100ms);
  expect_still_serving(gateway);
}

TEST(GatewayFailover, PostWithIdempotencyKeyIsRetriedOnceElsewhere) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());

  // Round robin on one thread: after a request to one backend, the next goes to the other.
  auto probe = client.get("/");
  ASSERT_EQ(probe.status, 200);
  bool probe_on_a = probe.header("X-Served-By") == a.name();
  TestBackend& first = probe_on_a ? b : a;   // next pick: resets the connection
  TestBackend& second = probe_on_a ? a : b;  // the retry: answers like /echo

  std::string body = R"({"order": 2, "items": ["x", "y"]})";
  auto res = client.request("POST", "/reset?only=" + first.name(), body, {{"Idempotency-Key", "key-123"}});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("X-Served-By"), second.name());
  EXPECT_EQ(first.count("/reset"), 1u) << "the first attempt did not reach " << first.name();
  EXPECT_EQ(second.count("/reset"), 1u) << "the retry did not reach " << second.name();
  auto echoed = res.json();
  EXPECT_EQ(echoed.value("body", ""), body) << "the retry did not carry the same body";
  EXPECT_EQ(echoed["headers"].value("idempotency-key", ""), "key-123");
}

TEST(GatewayFailover, RetriesStopAfterMaxAttempts) {
  TestBackend a("a"), b("b"), c("c");
  GatewayOptions o;
  o.backends = {a.address(), b.address(), c.address()};
  GatewayProcess gateway(o);  // --max-attempts defaults to 2
  HttpClient client(gateway.port());
  auto res = client.request("POST", "/reset", "{}", {{"Idempotency-Key", "key-456"}});
  EXPECT_EQ(res.status, 502) << res.body;
  EXPECT_EQ(a.count("/reset") + b.count("/reset") + c.count("/reset"), 2u) << "one try and exactly one retry";
  std::this_thread::sleep_for(100ms);
  expect_still_serving(gateway);
  if (!gateway.running()) return;

  // The GET may go out first on a connection pooled by the GET above: its close then looks like a
  // keep-alive race, and the GET is sent again on a new connection to the same backend, which is
  // not an attempt (gateway_upstream_reuse_test). Attempts stay at two.
  auto resent = [&] {
    auto page = gateway.admin("GET", "/metrics").body;
    std::string series = "\noutboard_gateway_stale_upstream_total{outcome=\"resent\"} ";
    auto at = page.find(series);
    return at == std::string::npos ? std::uint64_t{0} : std::stoull(page.substr(at + series.size()));
  };
  std::uint64_t resent_before = resent();
  auto get = client.get("/reset");
  EXPECT_EQ(get.status, 502) << get.body;
  std::uint64_t resends = resent() - resent_before;
  EXPECT_LE(resends, 1u);
  EXPECT_EQ(a.count("/reset") + b.count("/reset") + c.count("/reset"), 4u + resends) << "a GET: also one retry";
  std::this_thread::sleep_for(100ms);
  expect_still_serving(gateway);
}

TEST(GatewayFailover, PostToAHungBackendGets504AfterTheFirstByteTimeout) {
  TestBackend a("a");
  GatewayOptions o;
  o.backends = {a.address()};
  o.extra_args = {"--first-byte-timeout-ms", "500"};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());
  auto start = std::chrono::steady_clock::now();
  // The backend answers only after 30 s: a 504 before that is the first-byte timeout's.
  auto res = client.post("/slow?ms=30000", "{}");
  auto took = ms_since(start);
  EXPECT_EQ(res.status, 504) << res.body;
  EXPECT_EQ(res.json().value("error", ""), "gateway_timeout") << res.body;
  EXPECT_GE(took, 450);
  EXPECT_EQ(a.count("/slow"), 1u) << "a POST without a key was sent twice";
  std::this_thread::sleep_for(100ms);
  expect_still_serving(gateway);
}

TEST(GatewayFailover, MaxAttemptsOneNeverRetries) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  o.extra_args = {"--max-attempts", "1"};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());
  auto res = client.get("/reset");
  EXPECT_EQ(res.status, 502) << res.body;
  EXPECT_EQ(a.count("/reset") + b.count("/reset"), 1u) << "a GET was retried with --max-attempts 1";
}

TEST(GatewayFailover, FiveHundredsEjectTheBackendAndAreNotRetried) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  // Long enough that the ejection cannot end while the test looks at it.
  o.env = {{"OUTBOARD_GATEWAY_OUTLIER_BASE_EJECTION_MS", "30000"}, {"OUTBOARD_GATEWAY_OUTLIER_CONSECUTIVE_FAILURES", "3"}};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());
  std::string target = "/status/500?only=" + a.name();
  std::map<int, int> statuses;
  for (int i = 0; i < 6; ++i) ++statuses[client.get(target).status];
  // Round robin: 3 to a (500, passed through as they are: a 5xx answer is an answer), 3 to b.
  EXPECT_EQ(statuses[500], 3);
  EXPECT_EQ(statuses[200], 3);
  EXPECT_EQ(a.count("/status/500"), 3u) << "a 500 answer was retried";
  auto entry = gateway.backend(a.address());
  EXPECT_EQ(entry.value("state", ""), "ejected") << entry.dump();
  EXPECT_EQ(entry.value("ejections", 0), 1) << entry.dump();
  EXPECT_EQ(entry.value("failures", 0), 3) << entry.dump();
  for (int i = 0; i < 10; ++i) {
    auto res = client.get(target);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("X-Served-By"), b.name()) << "an ejected backend got request " << i;
  }
}

TEST(GatewayFailover, UnreadyBackendIsTakenOutByHealthChecksAndComesBack) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  o.env = {{"OUTBOARD_GATEWAY_HEALTH_INTERVAL_MS", "50"}};
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());

  a.set_ready(false);
  std::string state;
  ASSERT_TRUE(wait_until([&] {
    state = gateway.backend(a.address()).value("state", "");
    return state == "down";
  }, 10s)) << "a is still '" << state << "' while its /readyz answers 503";
  std::uint64_t a_before = a.count("/");
  for (int i = 0; i < 10; ++i) {
    auto res = client.get("/");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("X-Served-By"), b.name());
  }
  EXPECT_EQ(a.count("/"), a_before);

  a.set_ready(true);
  ASSERT_TRUE(wait_until([&] {
    state = gateway.backend(a.address()).value("state", "");
    return state == "up";
  }, 10s)) << "a is still '" << state << "' after its /readyz answers 200 again";
  std::map<std::string, int> served;
  for (int i = 0; i < 10; ++i) ++served[client.get("/").header("X-Served-By").value_or("")];
  EXPECT_EQ(served[a.name()], 5);
}

// Panic threshold (as Envoy's): a shared store going down fails every server's /readyz at once;
// the gateway must not then refuse everything but balance over all of them, say so once in the
// log and in /metrics, and say so again when enough backends are back.
TEST(GatewayFailover, PanicThresholdKeepsTrafficFlowingWhenEveryReadinessFails) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  o.env = {{"OUTBOARD_GATEWAY_HEALTH_INTERVAL_MS", "50"}};  // health.panic_threshold_percent: the default, 50
  GatewayProcess gateway(o);
  HttpClient client(gateway.port());

  a.set_ready(false);
  b.set_ready(false);
  ASSERT_TRUE(wait_until([&] {
    return gateway.backend(a.address()).value("state", "") == "down" &&
           gateway.backend(b.address()).value("state", "") == "down";
  }, 10s)) << "the backends were not taken down while their /readyz answered 503";
  std::map<std::string, int> served;
  for (int i = 0; i < 10; ++i) {
    auto res = client.get("/");
    ASSERT_EQ(res.status, 200) << "request " << i << " with every backend's readiness failing: " << res.body;
    ++served[res.header("X-Served-By").value_or("(none)")];
  }
  EXPECT_GT(served[a.name()], 0);
  EXPECT_GT(served[b.name()], 0);
  EXPECT_NE(gateway.log().find("panic mode: only 0 of 2 backends"), std::string::npos) << gateway.log();
  auto page = gateway.admin("GET", "/metrics").body;
  EXPECT_NE(page.find("\noutboard_gateway_panic 1\n"), std::string::npos) << page;
  EXPECT_NE(page.find("\noutboard_gateway_panic_entered_total 1\n"), std::string::npos) << page;

  a.set_ready(true);
  b.set_ready(true);
  ASSERT_TRUE(wait_until([&] {
    return gateway.backend(a.address()).value("state", "") == "up" && gateway.backend(b.address()).value("state", "") == "up";
  }, 10s));
  EXPECT_EQ(client.get("/").status, 200);
  EXPECT_TRUE(wait_until([&] { return gateway.log().find("panic mode ended") != std::string::npos; }, 10s))
      << gateway.log();
}

}  // namespace
}  // namespace outboard::testing
