// `outboard gateway` refuses every request docs/HTTP.md lists, itself (no X-Served-By), with the
// rule's status and {"error": rule id, "detail"}, and forwards none of them: the same vectors as
// serve_http_conformance_test.cpp, so the gateway admits nothing serve would refuse. The rule id
// in the answer proves the strict layer refused it, not Beast's parser or an older check.
// One gateway and one test backend for the suite.
#include <gtest/gtest.h>

#include <memory>

#include "integration/http_conformance_vectors.hpp"
#include "integration/http_expectations.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/param_name.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

class GatewayHttpConformance : public ::testing::TestWithParam<HttpVector> {
 protected:
  static void SetUpTestSuite() {
    backend_ = std::make_unique<TestBackend>("conformance");
    GatewayOptions o;
    o.backends = {backend_->address()};
    gateway_ = std::make_unique<GatewayProcess>(o);
  }
  static void TearDownTestSuite() {
    gateway_.reset();
    backend_.reset();
  }
  void SetUp() override { backend_->reset_counts(); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- gateway log ----\n" << gateway_->log() << "---- end ----\n";
  }

  // A well-formed request after the refused one: once its answer is back, a refused request
  // that had been forwarded before it would be counted too (no sleep needed).
  static void expect_only_the_control_reached_the_backend() {
    HttpClient client(gateway_->port());
    auto control = client.get("/control");
    ASSERT_EQ(control.status, 200) << control.body;
    EXPECT_EQ(backend_->count(), 1u) << "a refused request reached the backend: " << backend_->counts().dump();
  }

  static std::unique_ptr<TestBackend> backend_;
  static std::unique_ptr<GatewayProcess> gateway_;
};

std::unique_ptr<TestBackend> GatewayHttpConformance::backend_;
std::unique_ptr<GatewayProcess> GatewayHttpConformance::gateway_;

TEST_P(GatewayHttpConformance, Refuses) {
  auto const& v = GetParam();
  RawConnection conn(gateway_->port());
  conn.try_send(v.wire);  // the gateway may answer and close before reading everything
  auto res = conn.read_response();
  expect_json_error(res, v.status, v.rule);
  EXPECT_EQ(res.header("X-Served-By"), std::nullopt) << "a backend answered";
  EXPECT_TRUE(conn.wait_closed()) << "the connection stayed open after a refusal";
  expect_only_the_control_reached_the_backend();
  EXPECT_TRUE(gateway_->running());
}

INSTANTIATE_TEST_SUITE_P(Rules, GatewayHttpConformance, ::testing::ValuesIn(refused_requests()), ParamName{});

class GatewayHttpAccepts : public GatewayHttpConformance {};

TEST_P(GatewayHttpAccepts, Twin) {
  auto const& v = GetParam();
  RawConnection conn(gateway_->port());
  conn.send(v.wire);
  auto res = conn.read_response();
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("X-Served-By"), backend_->name());
}

INSTANTIATE_TEST_SUITE_P(Rules, GatewayHttpAccepts, ::testing::ValuesIn(accepted_twins()), ParamName{});

// The response side: a backend's response framed two ways is not passed on but answered 502
// with the rule (check_response_head), so a client never sees an ambiguous response.
TEST_F(GatewayHttpConformance, AMalformedBackendResponseIs502WithItsRule) {
  HttpClient client(gateway_->port());
  auto res = client.get("/smuggle-response");
  expect_json_error(res, 502, "te-and-cl");
  EXPECT_EQ(res.header("X-Served-By"), std::nullopt) << "the backend's response got through";
  EXPECT_TRUE(gateway_->running());
}

}  // namespace
}  // namespace outboard::testing
