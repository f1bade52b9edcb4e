#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/balancer.hpp"

namespace outboard::gateway {
namespace {

std::vector<Candidate> pool(std::vector<std::uint32_t> const& weights) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    out.push_back(Candidate{"10.0.0." + std::to_string(i + 1) + ":8080", weights[i], 0, true});
  }
  return out;
}

std::string sequence(Balancer& b, std::span<Candidate const> c, int picks) {
  std::string out;
  for (int i = 0; i < picks; ++i) {
    auto picked = b.pick(c, RequestKey{}, {});
    out += picked ? static_cast<char>('a' + *picked) : '-';
  }
  return out;
}

TEST(RoundRobin, SmoothSequenceHasNoBursts) {
  // NGINX's documented sequence for weights 5, 1, 1.
  auto c = pool({5, 1, 1});
  auto b = make_balancer(Policy::round_robin, 0);
  b->update(c);
  EXPECT_EQ(sequence(*b, c, 21), "aabacaa" "aabacaa" "aabacaa");
}

TEST(RoundRobin, EqualWeightsRotateInOrder) {
  auto c = pool({1, 1, 1});
  auto b = make_balancer(Policy::round_robin, 0);
  b->update(c);
  EXPECT_EQ(sequence(*b, c, 9), "abcabcabc");
}

TEST(RoundRobin, EveryWindowOfTotalWeightHoldsExactShares) {
  auto c = pool({3, 7, 2, 5});
  auto b = make_balancer(Policy::round_robin, 0);
  b->update(c);
  std::string const s = sequence(*b, c, 17 * 40);
  for (std::size_t start = 0; start + 17 <= s.size(); start += 17) {
    std::string const window = s.substr(start, 17);
    EXPECT_EQ(std::count(window.begin(), window.end(), 'a'), 3);
    EXPECT_EQ(std::count(window.begin(), window.end(), 'b'), 7);
    EXPECT_EQ(std::count(window.begin(), window.end(), 'c'), 2);
    EXPECT_EQ(std::count(window.begin(), window.end(), 'd'), 5);
  }
  // The heaviest (7 of 17) is never picked three times running.
  EXPECT_EQ(s.find("bbb"), std::string::npos);
}

TEST(RoundRobin, WeightsOneTwoThreeAreProportional) {
  auto c = pool({1, 2, 3});
  auto b = make_balancer(Policy::round_robin, 0);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 60000; ++i) ++counts[*b->pick(c, RequestKey{}, {})];
  EXPECT_NEAR(counts[0], 10000, 200);
  EXPECT_NEAR(counts[1], 20000, 400);
  EXPECT_NEAR(counts[2], 30000, 600);
}

TEST(RoundRobin, UnavailableIsSkippedAndNotFloodedOnReturn) {
  auto c = pool({1, 1, 1});
  auto b = make_balancer(Policy::round_robin, 0);
  b->update(c);
  sequence(*b, c, 4);
  c[1].available = false;
  std::string const down = sequence(*b, c, 30);
  EXPECT_EQ(down.find('b'), std::string::npos);
  // The two left alternate; the down one's unspent credit may tip one extra pick either way.
  EXPECT_NEAR(std::count(down.begin(), down.end(), 'a'), 15, 1);
  c[1].available = true;
  // Back: it rejoins the rotation at its share, with no catch-up burst.
  std::string const up = sequence(*b, c, 30);
  EXPECT_EQ(std::count(up.begin(), up.end(), 'b'), 10);
  EXPECT_EQ(up.find("bb"), std::string::npos);
}

TEST(RoundRobin, WeightChangeTakesEffectWithoutUpdate) {
  auto c = pool({1, 1});
  auto b = make_balancer(Policy::round_robin, 0);
  b->update(c);
  sequence(*b, c, 10);
  c[1].weight = 3;  // slow start ramping up
  std::string const s = sequence(*b, c, 400);
  EXPECT_NEAR(std::count(s.begin(), s.end(), 'b'), 300, 2);
}

}  // namespace
}  // namespace outboard::gateway
