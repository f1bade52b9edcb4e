#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/balancer.hpp"

namespace outboard::gateway {
namespace {

std::vector<Candidate> pool(std::size_t n) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(Candidate{"10.0.0." + std::to_string(i + 1) + ":8080", 1, 0, true});
  return out;
}

TEST(CookieSticky, NamedAvailableBackendIsChosen) {
  auto c = pool(4);
  auto b = make_balancer(Policy::cookie_sticky, 0);
  b->update(c);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < c.size(); ++i) EXPECT_EQ(b->pick(c, RequestKey{"", c[i].id}, {}), i);
  }
}

TEST(CookieSticky, NamedButUnusableFallsBackElsewhereEvenly) {
  auto c = pool(4);
  c[2].available = false;
  auto b = make_balancer(Policy::cookie_sticky, 0);
  b->update(c);
  std::vector<int> counts(4);
  for (int i = 0; i < 3000; ++i) {
    auto picked = b->pick(c, RequestKey{"", c[2].id}, {});
    ASSERT_TRUE(picked);
    ++counts[*picked];
  }
  EXPECT_EQ(counts, (std::vector<int>{1000, 1000, 0, 1000}));
}

TEST(CookieSticky, UnknownOrMissingCookieFallsBack) {
  auto c = pool(3);
  auto b = make_balancer(Policy::cookie_sticky, 0);
  b->update(c);
  std::vector<int> counts(3);
  for (int i = 0; i < 300; ++i) {
    ++counts[*b->pick(c, RequestKey{"", "10.9.9.9:1"}, {})];
    ++counts[*b->pick(c, RequestKey{"", ""}, {})];
    // A prefix of a real id is not that id.
    ++counts[*b->pick(c, RequestKey{"", "10.0.0.1:808"}, {})];
  }
  EXPECT_EQ(counts, (std::vector<int>{300, 300, 300}));
}

TEST(CookieSticky, RetryLeavesTheNamedBackend) {
  auto c = pool(3);
  auto b = make_balancer(Policy::cookie_sticky, 0);
  b->update(c);
  std::vector<std::size_t> const tried{1};
  for (int i = 0; i < 20; ++i) {
    auto picked = b->pick(c, RequestKey{"", c[1].id}, tried);
    ASSERT_TRUE(picked);
    EXPECT_NE(*picked, 1u);
  }
}

TEST(CookieSticky, WeightZeroIsNotHonoured) {
  auto c = pool(2);
  c[0].weight = 0;  // draining by weight: sticky clients move too
  auto b = make_balancer(Policy::cookie_sticky, 0);
  EXPECT_EQ(b->pick(c, RequestKey{"", c[0].id}, {}), 1u);
}

}  // namespace
}  // namespace outboard::gateway
