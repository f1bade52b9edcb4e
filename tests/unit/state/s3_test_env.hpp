#pragma once
// Shared by the s3_*_test.cpp suites: one s3rver per suite (tests use distinct prefixes), and the
// options that point a store at it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string_view>

#include "core/random.hpp"
#include "state/s3/s3_config.hpp"
#include "support/s3_server.hpp"

namespace outboard::testing {

// A suite's SetUp: fails under CI=true when the stand-in cannot start (it must run there),
// skips elsewhere, naming the fix. Returns true when the test may go on.
#define OUTBOARD_REQUIRE_S3_SERVER(server)                                                       \
  do {                                                                                           \
    if (auto missing = ::outboard::testing::S3Server::what_is_missing(); !missing.empty()) {     \
      std::string const fix = "bash scripts/setup.sh (or: cd tests/interop && npm ci)";          \
      if (std::string_view(std::getenv("CI") ? std::getenv("CI") : "") == "true")                \
        GTEST_FAIL() << missing << ": the S3 tests cannot run; " << fix;                         \
      GTEST_SKIP() << missing << "; to run the S3 tests: " << fix;                               \
    }                                                                                            \
    ASSERT_TRUE(server) << "s3rver did not start (see the suite's set-up failure)";              \
  } while (false)

// SetUpTestSuite: the suite's server, or null when it cannot start here (SetUp then says why).
inline std::unique_ptr<S3Server> start_s3_server() {
  if (!S3Server::what_is_missing().empty()) return nullptr;
  return std::make_unique<S3Server>();
}

// A fresh prefix per test, so tests sharing one server never see each other's objects.
inline state::s3::S3Options s3_options(S3Server const& server, std::size_t part_size = state::s3::kDefaultPartSize) {
  state::s3::S3Options options;
  options.bucket = S3Server::kBucket;
  options.prefix = "t-" + core::random_token(6) + "/";
  options.host = "127.0.0.1";
  options.port = server.port();
  options.part_size = part_size;
  options.keys = {S3Server::kKeyId, S3Server::kSecret, ""};
  return options;
}

}  // namespace outboard::testing
