// The limits of `outboard gateway` through a real process: the connection cap, the backend
// queue, the request-body deadline, the opaque sticky cookie, and interim (1xx) responses. Every
// timeout is configured tiny and the test waits for its event (a status, a close), never for
// a clock. Each refusal must carry a JSON reason, be counted in /metrics and get an access-log
// line naming its rule.
#include <gtest/gtest.h>

#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The value of one /metrics sample, e.g. `outboard_gateway_limit_rejections_total{rule="queue_full"}`.
std::optional<long long> gateway_sample(GatewayProcess const& gateway, std::string const& sample) {
  auto res = gateway.admin("GET", "/metrics");
  std::istringstream lines(res.body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(sample + " ")) continue;
    long long v = 0;
    auto text = line.substr(sample.size() + 1);
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
  }
  return std::nullopt;
}

// Whether an access-log line with "error": rule shows up (bounded wait for the log to be written).
bool logged_rule(GatewayProcess const& gateway, std::string const& rule) {
  return wait_until(
      [&] {
        std::istringstream log(gateway.log());
        for (std::string line; std::getline(log, line);) {
          auto j = json::parse(line, nullptr, false);
          if (j.is_object() && j.value("error", "") == rule) return true;
        }
        return false;
      },
      10s, 20ms);
}

// A refusal from a limit: 503, Retry-After, the rule as the JSON error.
void expect_overloaded(HttpResponse const& res, std::string const& rule) {
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(res.header("Retry-After"), "1");
  EXPECT_EQ(res.json().value("error", ""), rule) << res.body;
  EXPECT_FALSE(res.json().value("detail", "").empty()) << res.body;
}

// One backend behind a gateway with the access log on and these OUTBOARD_* settings.
GatewayOptions logged_gateway(TestBackend const& backend, std::map<std::string, std::string> env) {
  GatewayOptions o;
  o.backends = {backend.address()};
  o.extra_args = {"--access-log"};
  o.env = std::move(env);
  return o;
}

std::string get_request(std::string const& target, bool close = false) {
  return "GET " + target + " HTTP/1.1\r\nHost: gw\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
}

TEST(GatewayLimits, TheConnectionCapAnswers503) {
  TestBackend backend("capped");
  GatewayProcess gateway(logged_gateway(backend, {{"OUTBOARD_GATEWAY_LIMITS_MAX_CONNECTIONS", "1"}}));

  // The one connection allowed, kept open (readiness probes may still hold the slot a moment:
  // wait for a connection that is served).
  std::optional<RawConnection> held;
  ASSERT_TRUE(wait_until(
      [&] {
        held.emplace(gateway.port());
        held->send(get_request("/"));
        return held->read_response().status == 200;
      },
      10s));
  RawConnection over(gateway.port());
  auto refused = over.read_response();
  expect_overloaded(refused, "max_connections");
  EXPECT_TRUE(over.wait_closed()) << "a refused connection must be closed";
  EXPECT_GE(gateway_sample(gateway, "outboard_gateway_refused_connections_total{rule=\"max_connections\"}").value_or(0), 1);
  EXPECT_TRUE(logged_rule(gateway, "max_connections")) << gateway.log();

  // The held connection still works; once it closes, a new one is served.
  held->send(get_request("/", true));
  EXPECT_EQ(held->read_response().status, 200);
  held.reset();
  EXPECT_TRUE(wait_until([&] { return HttpClient(gateway.port()).get("/").status == 200; }, 10s));
}

TEST(GatewayLimits, TheBackendQueueAnswers503AfterItsTimeout) {
  TestBackend backend("queued");
  GatewayProcess gateway(logged_gateway(backend, {{"OUTBOARD_GATEWAY_LIMITS_MAX_IN_FLIGHT_PER_BACKEND", "1"},
                                                  {"OUTBOARD_GATEWAY_LIMITS_QUEUE_SIZE", "1"},
                                                  {"OUTBOARD_GATEWAY_TIMEOUTS_QUEUE_MS", "30"}}));

  // /trickle holds the backend's one slot until POST /_release.
  RawConnection stream(gateway.port());
  stream.send(get_request("/trickle", true));
  ASSERT_TRUE(stream.receive_until("first"));

  RawConnection waiting(gateway.port());
  waiting.send(get_request("/queued-then-refused"));
  auto refused = waiting.read_response();
  expect_overloaded(refused, "queue_timeout");
  EXPECT_EQ(backend.count("/queued-then-refused"), 0u) << "a refused request reached the backend";
  EXPECT_GE(gateway_sample(gateway, "outboard_gateway_limit_rejections_total{rule=\"queue_timeout\"}").value_or(0), 1);
  EXPECT_GE(gateway_sample(gateway, "outboard_gateway_queue_wait_seconds_count").value_or(0), 1);
  EXPECT_TRUE(logged_rule(gateway, "queue_timeout")) << gateway.log();

  // Once the slot frees, requests go through again.
  HttpClient direct(backend.port());
  ASSERT_EQ(direct.request("POST", "/_release").status, 200);
  auto streamed = stream.read_response();
  EXPECT_EQ(streamed.body, "first\nlast\n");
  EXPECT_TRUE(wait_until([&] { return HttpClient(gateway.port()).get("/after").status == 200; }, 10s));
}

TEST(GatewayLimits, ASlowBodyIsCutAtItsDeadline) {
  TestBackend backend("slow-body");
  GatewayProcess gateway(logged_gateway(backend, {{"OUTBOARD_GATEWAY_TIMEOUTS_BODY_READ_MS", "30"},
                                                  {"OUTBOARD_GATEWAY_TIMEOUTS_BODY_MIN_RATE", "1000"},
                                                  {"OUTBOARD_GATEWAY_LIMITS_RETRY_BUFFER_BYTES", "16"}}));

  // A body that comes at once passes.
  HttpClient client(gateway.port());
  auto ok = client.post("/echo", std::string(200, 'x'));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().value("body_size", 0), 200);

  // Stalled inside the part held before a backend is chosen: 408, closed, never forwarded.
  RawConnection held(gateway.port());
  held.send("POST /stalled-held HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\nx");
  auto cut = held.read_response();
  EXPECT_EQ(cut.status, 408) << cut.body;
  EXPECT_EQ(cut.json().value("error", ""), "body_timeout") << cut.body;
  EXPECT_TRUE(held.wait_closed());
  EXPECT_EQ(backend.count("/stalled-held"), 0u);

  // Stalled while being streamed to the backend (past the 16 held bytes): 408 too.
  RawConnection streamed(gateway.port());
  streamed.send("POST /echo HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n" + std::string(40, 'y'));
  auto cut_streaming = streamed.read_response();
  EXPECT_EQ(cut_streaming.status, 408) << cut_streaming.body;
  EXPECT_TRUE(streamed.wait_closed());

  EXPECT_GE(gateway_sample(gateway, "outboard_gateway_limit_rejections_total{rule=\"body_timeout\"}").value_or(0), 2);
  EXPECT_TRUE(logged_rule(gateway, "body_timeout")) << gateway.log();
  EXPECT_EQ(client.get("/").status, 200) << "the gateway stopped serving after cutting slow bodies";
}

// timeouts.total_ms covers the whole exchange: a backend too slow to answer gets 504, and a
// response still streaming at the deadline is cut (the stream waits for POST /_release, which
// never comes here).
TEST(GatewayLimits, TheTotalDeadlineCoversTheWholeExchange) {
  TestBackend backend("total");
  GatewayProcess gateway(logged_gateway(backend, {{"OUTBOARD_GATEWAY_TIMEOUTS_TOTAL_MS", "50"}}));

  HttpClient client(gateway.port());
  auto late = client.get("/slow?ms=5000");
  EXPECT_EQ(late.status, 504) << late.body;
  EXPECT_EQ(late.json().value("error", ""), "total_timeout") << late.body;

  RawConnection stream(gateway.port());
  stream.send(get_request("/trickle"));
  ASSERT_TRUE(stream.receive_until("first"));
  EXPECT_TRUE(stream.wait_closed()) << "a response past the total deadline was not cut";
  EXPECT_GE(gateway_sample(gateway, "outboard_gateway_limit_rejections_total{rule=\"total_timeout\"}").value_or(0), 2);
  EXPECT_TRUE(logged_rule(gateway, "total_timeout")) << gateway.log();
}

// The sticky cookie is an opaque token: a cookie naming a backend's address (what the cookie
// used to hold) or junk is not obeyed but rebalanced, with a fresh token, never an error.
TEST(GatewayLimits, AForgedStickyCookieIsRebalanced) {
  TestBackend a("a"), b("b");
  GatewayOptions o;
  o.backends = {a.address(), b.address()};
  o.policy = "cookie_sticky";
  GatewayProcess gateway(o);

  auto token_in = [](HttpResponse const& res) -> std::string {
    for (auto const& line : res.headers_named("Set-Cookie")) {
      if (line.starts_with("ob_backend=")) return line.substr(11, line.find(';') - 11);
    }
    return "";
  };
  std::set<std::string> served;
  for (std::string forged : {a.address(), a.address(), a.address(), a.address(), std::string("junk%%;"),
                             std::string("AAAAAAAAAAAAAAAAAAAAAA")}) {
    HttpClient client(gateway.port());
    auto res = client.request("GET", "/", {}, {{"Cookie", "ob_backend=" + forged}});
    ASSERT_EQ(res.status, 200) << "cookie " << forged << ": " << res.body;
    if (forged == a.address()) served.insert(res.header("X-Served-By").value_or(""));
    std::string token = token_in(res);
    EXPECT_FALSE(token.empty()) << "a forged cookie was not replaced";
    EXPECT_EQ(token.find("127.0.0.1"), std::string::npos) << "the cookie shows a backend address: " << token;
    EXPECT_NE(token, forged);
  }
  EXPECT_EQ(served, (std::set<std::string>{a.name(), b.name()}))
      << "a cookie holding a backend's address still picked that backend";

  // The real token pins.
  HttpClient client(gateway.port());
  auto first = client.get("/");
  std::string home = first.header("X-Served-By").value_or("");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(client.get("/").header("X-Served-By"), home);
}

// A backend's 100 Continue is consumed, its 103 Early Hints passed on, and the final 200 relayed.
TEST(GatewayLimits, EarlyHintsBeforeTheFinalResponse) {
  TestBackend backend("hints");
  GatewayOptions o;
  o.backends = {backend.address()};
  GatewayProcess gateway(o);

  RawConnection conn(gateway.port());
  conn.send(get_request("/early-hints"));
  auto hints = conn.read_response();
  EXPECT_EQ(hints.status, 103) << "the backend's unasked-for 100 reached the client, or no 103 did";
  EXPECT_EQ(hints.header("Link"), "</style.css>; rel=preload");
  auto final_response = conn.read_response();
  EXPECT_EQ(final_response.status, 200);
  EXPECT_EQ(final_response.body, "final");
  // The connection carries the next request: the interim responses left nothing behind.
  conn.send(get_request("/", true));
  EXPECT_EQ(conn.read_response().status, 200);

  // An HTTP/1.0 client gets no interim response at all (RFC 9110 section 15.2).
  RawConnection old(gateway.port());
  old.send("GET /early-hints HTTP/1.0\r\nHost: gw\r\n\r\n");
  auto only = old.read_response();
  EXPECT_EQ(only.status, 200);
  EXPECT_EQ(only.body, "final");
}

}  // namespace
}  // namespace outboard::testing
