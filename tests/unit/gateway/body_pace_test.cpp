// The request-body deadline: grace, then a minimum average rate.
#include <gtest/gtest.h>

#include "gateway/body_pace.hpp"

namespace outboard::gateway {
namespace {

using namespace std::chrono_literals;

TEST(BodyPace, GraceThenOneSecondPerRateBytes) {
  BodyPace pace{BodyPace::time_point{} + 100s, 10s, 1000, 0};
  EXPECT_EQ(pace.deadline(), BodyPace::time_point{} + 110s);
  pace.received = 500;
  EXPECT_EQ(pace.deadline(), BodyPace::time_point{} + 110500ms);
  pace.received = 5000;
  EXPECT_EQ(pace.deadline(), BodyPace::time_point{} + 115s);
}

TEST(BodyPace, ZeroRateIsOff) {
  BodyPace pace{BodyPace::time_point{} + 100s, 10s, 0, 12345};
  EXPECT_EQ(pace.deadline(), BodyPace::time_point::max());
}

TEST(BodyPace, AHugeBodyDoesNotOverflowTheClock) {
  BodyPace pace{BodyPace::time_point{} + 100s, 10s, 1, std::uint64_t{1} << 62};
  EXPECT_EQ(pace.deadline(), BodyPace::time_point::max());
}

}  // namespace
}  // namespace outboard::gateway
