// `outboard serve` as an origin refuses every request docs/HTTP.md lists, with the rule's status,
// {"error": rule id, "detail"}, X-Served-By (the server's own answer, stamped), and then closes
// the connection. The rule id in the answer proves OUR check refused it, not Beast's parser.
// One serve process for the whole suite.
#include <gtest/gtest.h>

#include <memory>

#include "integration/http_conformance_vectors.hpp"
#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/param_name.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

class ServeHttpConformance : public ::testing::TestWithParam<HttpVector> {
 protected:
  static void SetUpTestSuite() {
    ServeOptions options;
    options.name = "conformance";
    serve_ = std::make_unique<ServeProcess>(options);
  }
  static void TearDownTestSuite() { serve_.reset(); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- serve log ----\n" << serve_->log() << "---- end ----\n";
  }

  static std::unique_ptr<ServeProcess> serve_;
};

std::unique_ptr<ServeProcess> ServeHttpConformance::serve_;

TEST_P(ServeHttpConformance, Refuses) {
  auto const& v = GetParam();
  RawConnection conn(serve_->port());
  conn.try_send(v.wire);  // serve may answer and close before reading everything
  auto res = conn.read_response();
  expect_json_error(res, v.status, v.rule);
  EXPECT_EQ(res.header("X-Served-By"), serve_->instance());
  EXPECT_EQ(res.header("Connection"), "close");
  EXPECT_TRUE(conn.wait_closed()) << "the connection stayed open after a refusal";
}

INSTANTIATE_TEST_SUITE_P(Rules, ServeHttpConformance, ::testing::ValuesIn(refused_requests()), ParamName{});

class ServeHttpAccepts : public ServeHttpConformance {};

TEST_P(ServeHttpAccepts, Twin) {
  auto const& v = GetParam();
  RawConnection conn(serve_->port());
  conn.send(v.wire);
  auto res = conn.read_response();
  EXPECT_NE(res.status, 400) << res.body;
  auto error = res.json().is_object() ? res.json().value("error", "") : "";
  EXPECT_NE(error, "parser") << res.body;
  for (auto const& refused : refused_requests()) EXPECT_NE(error, refused.rule) << res.body;
}

INSTANTIATE_TEST_SUITE_P(Rules, ServeHttpAccepts, ::testing::ValuesIn(accepted_twins()), ParamName{});

}  // namespace
}  // namespace outboard::testing
