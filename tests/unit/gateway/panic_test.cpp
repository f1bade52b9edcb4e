// Panic mode's rule (panic.hpp, as Envoy's panic threshold): below the threshold share of
// available backends (draining ones aside), every backend that is not draining takes traffic.
#include <gtest/gtest.h>

#include "gateway/panic.hpp"

namespace outboard::gateway {
namespace {

TEST(PanicThreshold, BelowTheShareOfAvailableBackends) {
  EXPECT_TRUE(in_panic(0, 3, 50));   // every backend down or ejected
  EXPECT_TRUE(in_panic(1, 3, 50));   // 33 % < 50 %
  EXPECT_FALSE(in_panic(2, 4, 50));  // exactly the threshold: not below it
  EXPECT_FALSE(in_panic(3, 3, 50));
  EXPECT_TRUE(in_panic(2, 4, 51));
}

TEST(PanicThreshold, ZeroTurnsItOff) { EXPECT_FALSE(in_panic(0, 3, 0)); }

TEST(PanicThreshold, NothingEligibleIsNoPanic) {
  // Every backend draining: an operator's decision, never overridden.
  EXPECT_FALSE(in_panic(0, 0, 50));
}

TEST(PanicThreshold, HundredPercentPanicsOnAnyLoss) {
  EXPECT_TRUE(in_panic(9, 10, 100));
  EXPECT_FALSE(in_panic(10, 10, 100));
}

}  // namespace
}  // namespace outboard::gateway
