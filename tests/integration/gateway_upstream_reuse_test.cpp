// A keep-alive connection to a backend that the backend closes under the next request (its idle
// timeout racing the gateway's reuse) is not the backend failing: a request safe to send twice
// goes again on a new connection, and costs the client nothing; any other gets a 502 and is never
// sent twice. The backend's /drop-next (tests/test_backend) makes the race deterministic: the
// connection that answered it reads the next request whole, then closes without a byte of
// answer, so nothing the gateway could check before sending would have seen the close coming.
// One backend: there is nowhere else to retry, so only the resend on a new connection can save
// the request.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

// Requests on `path` the backend read and then dropped with the connection (/drop-next).
std::uint64_t dropped(TestBackend const& backend, std::string const& path) {
  auto counts = backend.counts();
  return counts["dropped"].value(path, std::uint64_t{0});
}

// The value of one sample line of the gateway's /metrics ("" when absent).
std::string gateway_metric_text(GatewayProcess const& gateway, std::string const& series) {
  auto page = gateway.admin("GET", "/metrics").body;
  auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  auto start = at + series.size() + 2;
  return page.substr(start, page.find('\n', start) - start);
}

struct OneBackend {
  TestBackend backend{"a"};
  GatewayProcess gateway{[this] {
    GatewayOptions o;
    o.backends = {backend.address()};
    return o;
  }()};
  HttpClient client{gateway.port()};

  // Leaves one pooled connection to the backend that will drop the next request sent on it.
  void arm() {
    auto res = client.get("/drop-next");
    ASSERT_EQ(res.status, 200) << res.body;
  }
  std::int64_t failures() const { return gateway.backend(backend.address()).value("failures", std::int64_t{-1}); }
};

TEST(GatewayUpstreamReuse, GetOnAClosedReusedConnectionIsResentOnANewOne) {
  OneBackend t;
  ASSERT_NO_FATAL_FAILURE(t.arm());
  auto res = t.client.get("/echo");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(dropped(t.backend, "/echo"), 1u) << "the request did not go out on the reused connection first";
  EXPECT_EQ(t.backend.count("/echo"), 1u) << "the backend did not answer it once on a new connection";
  EXPECT_EQ(t.failures(), 0) << "a stale pooled connection was counted as the backend failing";
  EXPECT_EQ(gateway_metric_text(t.gateway, "outboard_gateway_stale_upstream_total{outcome=\"resent\"}"), "1");
  EXPECT_EQ(gateway_metric_text(t.gateway, "outboard_gateway_retries_total"), "0") << "the resend used up a retry";
}

TEST(GatewayUpstreamReuse, PostWithoutIdempotencyKeyIsAnswered502AndNeverSentTwice) {
  OneBackend t;
  ASSERT_NO_FATAL_FAILURE(t.arm());
  auto res = t.client.post("/echo", R"({"order": 1})");
  EXPECT_EQ(res.status, 502) << res.body;
  EXPECT_EQ(res.header("X-Outboard-Gateway"), "1");
  EXPECT_NE(res.json().value("detail", "").find("reused keep-alive connection"), std::string::npos) << res.body;
  EXPECT_EQ(dropped(t.backend, "/echo"), 1u);
  EXPECT_EQ(t.backend.count("/echo"), 0u) << "a POST without an Idempotency-Key was sent a second time";
  EXPECT_EQ(gateway_metric_text(t.gateway, "outboard_gateway_stale_upstream_total{outcome=\"refused\"}"), "1");
  // The gateway is fine afterwards.
  EXPECT_EQ(t.client.get("/").status, 200);
}

TEST(GatewayUpstreamReuse, PostWithIdempotencyKeyIsResentOnANewConnection) {
  OneBackend t;
  ASSERT_NO_FATAL_FAILURE(t.arm());
  std::string body = R"({"order": 2})";
  auto res = t.client.request("POST", "/echo", body, {{"Idempotency-Key", "key-789"}});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().value("body", ""), body) << "the resend did not carry the same body";
  EXPECT_EQ(dropped(t.backend, "/echo"), 1u);
  EXPECT_EQ(t.backend.count("/echo"), 1u);
  EXPECT_EQ(t.failures(), 0);
}

}  // namespace
}  // namespace outboard::testing
