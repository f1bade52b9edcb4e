// When the lab stops waiting for what is owed after the users stopped (lab/settle_bound.hpp):
// progress keeps it waiting, a stall or the cap ends it. Times are given, not read from a clock.
#include "lab/settle_bound.hpp"

#include <gtest/gtest.h>

namespace outboard::lab {
namespace {

TEST(SettleBound, AStallEndsItAfterTheQuietTime) {
  SettleBound bound(0, 10'000, 60'000);
  EXPECT_FALSE(bound.over(5, 0));
  EXPECT_FALSE(bound.over(5, 9'999));
  EXPECT_TRUE(bound.over(5, 10'000));
}

TEST(SettleBound, EachFallStartsTheQuietTimeAgainEvenWhenWhatIsOwedRoseMeanwhile) {
  SettleBound bound(0, 10'000, 60'000);
  EXPECT_FALSE(bound.over(5, 0));
  EXPECT_FALSE(bound.over(9, 8'000));    // a rise (an acknowledged resend owed to a room) is no progress
  EXPECT_FALSE(bound.over(7, 9'000));    // a fall is, though 7 is above the first 5
  EXPECT_FALSE(bound.over(7, 18'999));
  EXPECT_TRUE(bound.over(7, 19'000));
}

TEST(SettleBound, TheCapEndsItWhateverTheProgress) {
  SettleBound bound(0, 10'000, 60'000);
  std::size_t owed = 1000;
  for (std::int64_t t = 0; t < 60'000; t += 1'000) EXPECT_FALSE(bound.over(--owed, t)) << t;
  EXPECT_TRUE(bound.over(--owed, 60'000));
}

}  // namespace
}  // namespace outboard::lab
