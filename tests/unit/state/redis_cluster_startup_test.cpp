// Start-up on redis-cluster://: a URL no node answers is refused at once, naming the URL without
// its password, instead of a server that starts and answers 503 to everything.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "state/store.hpp"
#include "support/free_port.hpp"

namespace outboard::state {
namespace {

TEST(RedisClusterStartup, NoNodeAnsweringIsAnErrorNamingTheUrlWithoutItsPassword) {
  std::string port = std::to_string(testing::free_port());  // nothing listens there
  StoreOptions options;
  try {
    open_store("redis-cluster://:s3cret@127.0.0.1:" + port, options);
    FAIL() << "a cluster nobody answers for was opened";
  } catch (std::runtime_error const& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("redis-cluster://:***@127.0.0.1:" + port), std::string::npos) << what;
    EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace outboard::state
