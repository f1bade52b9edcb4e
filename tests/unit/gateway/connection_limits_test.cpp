// The connection caps: global and per client address, counted on admit and given back on release.
#include <gtest/gtest.h>

#include "gateway/connection_limits.hpp"

namespace outboard::gateway {
namespace {

using Verdict = ConnectionLimits::Verdict;

TEST(ConnectionLimits, TotalCap) {
  ConnectionLimits limits(2, 0);
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::admitted);
  EXPECT_EQ(limits.admit("10.0.0.2"), Verdict::admitted);
  EXPECT_EQ(limits.admit("10.0.0.3"), Verdict::over_total);
  EXPECT_EQ(limits.open(), 2u) << "a refused connection must not be counted";
  limits.release("10.0.0.1");
  EXPECT_EQ(limits.admit("10.0.0.3"), Verdict::admitted);
}

TEST(ConnectionLimits, PerClientCapLeavesOthersIn) {
  ConnectionLimits limits(0, 2);
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::admitted);
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::admitted);
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::over_per_client);
  EXPECT_EQ(limits.admit("10.0.0.2"), Verdict::admitted);
  limits.release("10.0.0.1");
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::admitted);
  EXPECT_EQ(limits.open(), 3u);
}

TEST(ConnectionLimits, ZeroMeansNoCap) {
  ConnectionLimits limits(0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limits.admit("10.0.0.1"), Verdict::admitted);
  EXPECT_EQ(limits.open(), 1000u);
}

TEST(ConnectionLimits, TheTotalCapIsCheckedFirst) {
  ConnectionLimits limits(1, 1);
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::admitted);
  EXPECT_EQ(limits.admit("10.0.0.2"), Verdict::over_total);
  EXPECT_EQ(limits.admit("10.0.0.1"), Verdict::over_total);
}

}  // namespace
}  // namespace outboard::gateway
