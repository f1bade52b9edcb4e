// Properties every policy must keep, whatever its strategy: never an ineligible pick, retries go
// elsewhere, nothing available → nullopt, and a stale update() is never UB.
#include <gtest/gtest.h>

#include <algorithm>
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

// Varies both keys, so consistent_hash and cookie_sticky exercise their keyed paths too.
struct Keys {
  std::string hash;
  std::string sticky;
  RequestKey key() const { return RequestKey{hash, sticky}; }
};

Keys keys_for(int i, std::vector<Candidate> const& candidates) {
  return Keys{i % 5 == 0 ? std::string{} : "user-" + std::to_string(i),
              candidates.empty() ? std::string{} : candidates[static_cast<std::size_t>(i) % candidates.size()].id};
}

class EveryPolicy : public ::testing::TestWithParam<Policy> {
 protected:
  std::unique_ptr<Balancer> make(std::span<Candidate const> candidates) {
    auto b = make_balancer(GetParam(), 42);
    b->update(candidates);
    return b;
  }
};

TEST_P(EveryPolicy, NothingAvailableIsNullopt) {
  auto none = pool({1, 1, 1});
  for (auto& c : none) c.available = false;
  auto b = make(none);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(b->pick(none, keys_for(i, none).key(), {}), std::nullopt);

  std::vector<Candidate> empty;
  auto e = make(empty);
  EXPECT_EQ(e->pick(empty, RequestKey{"k", "x"}, {}), std::nullopt);

  auto weightless = pool({0, 0});
  auto w = make(weightless);
  EXPECT_EQ(w->pick(weightless, RequestKey{"k", weightless[0].id}, {}), std::nullopt);
}

TEST_P(EveryPolicy, NeverPicksUnavailableWeightlessOrExcluded) {
  auto c = pool({1, 1, 2, 0, 3, 1});
  c[1].available = false;
  std::vector<std::size_t> const exclude{0};
  auto b = make(c);
  std::vector<int> counts(c.size());
  for (int i = 0; i < 3000; ++i) {
    auto k = keys_for(i, c);
    auto picked = b->pick(c, k.key(), exclude);
    ASSERT_TRUE(picked);
    ++counts[*picked];
  }
  EXPECT_EQ(counts[0], 0);  // excluded
  EXPECT_EQ(counts[1], 0);  // unavailable
  EXPECT_EQ(counts[3], 0);  // weight 0
  EXPECT_GT(counts[2], 0);
  EXPECT_GT(counts[4], 0);
  EXPECT_GT(counts[5], 0);
}

TEST_P(EveryPolicy, RetriesWalkEveryEligibleOnceThenStop) {
  auto c = pool({1, 2, 1, 3, 1});
  c[2].available = false;
  auto b = make(c);
  for (int request = 0; request < 200; ++request) {
    auto k = keys_for(request, c);
    std::vector<std::size_t> tried;
    while (auto picked = b->pick(c, k.key(), tried)) {
      ASSERT_EQ(std::count(tried.begin(), tried.end(), *picked), 0) << "picked an excluded index";
      ASSERT_NE(*picked, 2u);
      tried.push_back(*picked);
      ASSERT_LE(tried.size(), 4u);
    }
    EXPECT_EQ(tried.size(), 4u);
  }
}

TEST_P(EveryPolicy, CandidatesOfAnotherSizeThanTheLastUpdateAreSafe) {
  auto five = pool({1, 1, 1, 1, 1});
  auto b = make(five);
  for (std::size_t n : {3u, 8u, 1u, 0u, 5u, 12u}) {
    std::vector<std::uint32_t> weights(n, 1);
    auto c = pool(weights);
    if (n > 1) c[1].available = false;
    for (int i = 0; i < 100; ++i) {
      auto picked = b->pick(c, keys_for(i, c).key(), {});
      if (n == 0) {
        EXPECT_EQ(picked, std::nullopt);
        continue;
      }
      ASSERT_TRUE(picked);
      EXPECT_LT(*picked, n);
      EXPECT_NE(*picked, n > 1 ? 1u : 99u);
    }
  }
  // And without any update() at all.
  auto fresh = make_balancer(GetParam(), 7);
  auto three = pool({1, 1, 1});
  auto picked = fresh->pick(three, RequestKey{"k", ""}, {});
  ASSERT_TRUE(picked);
  EXPECT_LT(*picked, 3u);
}

// 3 equal backends: each gets a third, within ±2% of the expected count. The random policies get
// 300000 picks so that ±2% is ~8 standard deviations, not luck; the others are exact anyway.
TEST_P(EveryPolicy, EqualBackendsShareEvenly) {
  auto c = pool({1, 1, 1});
  auto b = make(c);
  bool const random = GetParam() == Policy::power_of_two || GetParam() == Policy::consistent_hash ||
                      GetParam() == Policy::rendezvous;
  int const picks = random ? 300000 : 30000;
  std::vector<int> counts(3);
  for (int i = 0; i < picks; ++i) {
    std::string const key = "user-" + std::to_string(i);
    auto picked = b->pick(c, RequestKey{key, ""}, {});
    ASSERT_TRUE(picked);
    ++counts[*picked];
  }
  double const expected = picks / 3.0;
  for (int n : counts) EXPECT_NEAR(n, expected, 0.02 * expected) << to_string(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Balancer, EveryPolicy,
                         ::testing::Values(Policy::round_robin, Policy::least_outstanding, Policy::power_of_two,
                                           Policy::consistent_hash, Policy::cookie_sticky, Policy::rendezvous),
                         [](::testing::TestParamInfo<Policy> const& param) {
                           return std::string{to_string(param.param)};
                         });

TEST(Policy, NamesRoundTrip) {
  for (Policy p : {Policy::round_robin, Policy::least_outstanding, Policy::power_of_two, Policy::consistent_hash,
                   Policy::cookie_sticky, Policy::rendezvous}) {
    EXPECT_EQ(parse_policy(to_string(p)), p);
  }
  EXPECT_EQ(parse_policy("random"), std::nullopt);
  EXPECT_EQ(parse_policy(""), std::nullopt);
  EXPECT_EQ(parse_policy("Round_Robin"), std::nullopt);
}

}  // namespace
}  // namespace outboard::gateway
