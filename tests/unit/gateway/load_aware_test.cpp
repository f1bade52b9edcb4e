// least_outstanding and power_of_two: both read Candidate::outstanding.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gateway/balancer.hpp"

namespace outboard::gateway {
namespace {

std::vector<Candidate> pool(std::vector<std::uint32_t> const& weights, std::vector<std::uint32_t> const& outstanding) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    out.push_back(Candidate{"10.0.0." + std::to_string(i + 1) + ":8080", weights[i], outstanding[i], true});
  }
  return out;
}

TEST(LeastOutstanding, PicksTheLeastLoaded) {
  auto c = pool({1, 1, 1}, {5, 2, 7});
  auto b = make_balancer(Policy::least_outstanding, 0);
  b->update(c);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b->pick(c, RequestKey{}, {}), 1u);
  // The least loaded already tried: the next least.
  std::vector<std::size_t> const tried{1};
  EXPECT_EQ(b->pick(c, RequestKey{}, tried), 0u);
  c[0].available = false;
  EXPECT_EQ(b->pick(c, RequestKey{}, tried), 2u);
}

TEST(LeastOutstanding, LoadIsPerUnitOfWeight) {
  // 4/1, 6/2 = 3, 10/3 ≈ 3.33: the middle one, though it has more in flight than the first.
  auto c = pool({1, 2, 3}, {4, 6, 10});
  auto b = make_balancer(Policy::least_outstanding, 0);
  b->update(c);
  EXPECT_EQ(b->pick(c, RequestKey{}, {}), 1u);
}

TEST(LeastOutstanding, TiesTakeTurns) {
  auto c = pool({1, 1, 1, 1}, {3, 1, 1, 1});
  auto b = make_balancer(Policy::least_outstanding, 0);
  b->update(c);
  std::string s;
  for (int i = 0; i < 9; ++i) s += static_cast<char>('a' + *b->pick(c, RequestKey{}, {}));
  EXPECT_EQ(s, "bcdbcdbcd");
}

TEST(LeastOutstanding, WhenAllIdleWeightsStillDecide) {
  auto c = pool({1, 2, 3}, {0, 0, 0});
  auto b = make_balancer(Policy::least_outstanding, 0);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 60000; ++i) ++counts[*b->pick(c, RequestKey{}, {})];
  EXPECT_NEAR(counts[0], 10000, 200);
  EXPECT_NEAR(counts[1], 20000, 400);
  EXPECT_NEAR(counts[2], 30000, 600);
}

TEST(LeastOutstanding, KeepsInFlightLevelWhenRequestsNeverFinish) {
  auto c = pool({1, 1, 1}, {0, 0, 0});
  auto b = make_balancer(Policy::least_outstanding, 0);
  b->update(c);
  for (int i = 0; i < 30000; ++i) {
    ++c[*b->pick(c, RequestKey{}, {})].outstanding;
    auto [lo, hi] = std::minmax({c[0].outstanding, c[1].outstanding, c[2].outstanding});
    ASSERT_LE(hi - lo, 1u);
  }
}

TEST(PowerOfTwo, NeverPicksTheUniqueMostLoaded) {
  // Two distinct draws: the most loaded loses every pair it is in.
  auto c = pool({1, 1, 1}, {5, 3, 1});
  auto b = make_balancer(Policy::power_of_two, 1);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) ++counts[*b->pick(c, RequestKey{}, {})];
  EXPECT_EQ(counts[0], 0);
  // The least loaded wins every pair it is drawn into: 2 of the 3 pairs.
  EXPECT_NEAR(counts[2], 20000, 400);
  EXPECT_NEAR(counts[1], 10000, 400);
}

TEST(PowerOfTwo, PrefersTheLessLoaded) {
  auto c = pool({1, 1, 1}, {10, 0, 10});
  auto b = make_balancer(Policy::power_of_two, 2);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) ++counts[*b->pick(c, RequestKey{}, {})];
  EXPECT_NEAR(counts[1], 20000, 400);
  EXPECT_GT(counts[0], 0);  // the other pairs still spread
  EXPECT_GT(counts[2], 0);
}

TEST(PowerOfTwo, WeightsSkewTheDrawsWhenLoadIsEqual) {
  auto c = pool({1, 2, 3}, {0, 0, 0});
  auto b = make_balancer(Policy::power_of_two, 3);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 300000; ++i) ++counts[*b->pick(c, RequestKey{}, {})];
  EXPECT_NEAR(counts[0], 50000, 1000);
  EXPECT_NEAR(counts[1], 100000, 2000);
  EXPECT_NEAR(counts[2], 150000, 3000);
}

TEST(PowerOfTwo, WithFeedbackSpreadsEvenly) {
  // Each pick adds one in flight; each step one random in-flight request finishes elsewhere.
  auto c = pool({1, 1, 1}, {0, 0, 0});
  auto b = make_balancer(Policy::power_of_two, 4);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) {
    std::size_t const picked = *b->pick(c, RequestKey{}, {});
    ++counts[picked];
    ++c[picked].outstanding;
    std::size_t const done = static_cast<std::size_t>(i) % 3;
    if (c[done].outstanding > 0) --c[done].outstanding;
  }
  for (int n : counts) EXPECT_NEAR(n, 10000, 200);
}

TEST(PowerOfTwo, SameSeedSamePicks) {
  auto c = pool({1, 2, 1, 4}, {0, 0, 0, 0});
  auto a = make_balancer(Policy::power_of_two, 99);
  auto b = make_balancer(Policy::power_of_two, 99);
  auto other = make_balancer(Policy::power_of_two, 100);
  std::vector<std::size_t> first, second, third;
  for (int i = 0; i < 1000; ++i) {
    first.push_back(*a->pick(c, RequestKey{}, {}));
    second.push_back(*b->pick(c, RequestKey{}, {}));
    third.push_back(*other->pick(c, RequestKey{}, {}));
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, third);
}

TEST(PowerOfTwo, OneEligibleIsTaken) {
  auto c = pool({1, 1}, {50, 0});
  c[1].available = false;
  auto b = make_balancer(Policy::power_of_two, 5);
  EXPECT_EQ(b->pick(c, RequestKey{}, {}), 0u);
}

}  // namespace
}  // namespace outboard::gateway
