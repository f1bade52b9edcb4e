// consistent_hash and the Maglev table under it. The remap fractions printed here are quoted by
// the gateway docs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gateway/balancer.hpp"
#include "gateway/policies/maglev.hpp"

namespace outboard::gateway {
namespace {

std::vector<Candidate> pool(std::size_t n, std::uint32_t weight = 1) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(Candidate{"10.0.0." + std::to_string(i + 1) + ":8080", weight, 0, true});
  }
  return out;
}

// Random-looking keys, the same on every run and platform (mt19937_64's output is specified).
std::vector<std::string> random_keys(std::size_t n) {
  std::mt19937_64 rng(20240601);
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back("session-" + std::to_string(rng()));
  return keys;
}

// The backend id each key lands on with this table (no availability, no walk).
std::vector<std::string> owners(std::vector<MaglevEntry> const& table, std::vector<Candidate> const& c,
                                std::vector<std::string> const& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (auto const& k : keys) out.push_back(c[table[maglev_slot(k, table.size())]].id);
  return out;
}

double moved_fraction(std::vector<std::string> const& before, std::vector<std::string> const& after) {
  std::size_t moved = 0;
  for (std::size_t i = 0; i < before.size(); ++i) moved += before[i] != after[i];
  return static_cast<double>(moved) / static_cast<double>(before.size());
}

TEST(StableHash, IsPinned) {
  // These values are part of the wire contract: every gateway process, of any build, must send a
  // key to the same backend. If this fails, the hash changed and every key would move.
  EXPECT_EQ(stable_hash("", 0), stable_hash("", 0));
  EXPECT_NE(stable_hash("a", 0), stable_hash("a", 1));
  EXPECT_NE(stable_hash("10.0.0.1:80", 0), stable_hash("10.0.0.1:81", 0));
  EXPECT_EQ(stable_hash("10.0.0.1:8080", 0), 15179510108022380808ULL);
  EXPECT_EQ(stable_hash("session-1", 7), 3648126097293990664ULL);
}

TEST(Maglev, TableSharesFollowWeights) {
  auto c = pool(10);
  auto table = build_maglev_table(c);
  ASSERT_EQ(table.size(), kMaglevTableSize);
  std::vector<std::size_t> slots(10);
  for (auto e : table) ++slots[e];
  // Equal weights fill one slot each per round: shares differ by at most one slot.
  auto [lo, hi] = std::minmax_element(slots.begin(), slots.end());
  EXPECT_LE(*hi - *lo, 1u);

  std::vector<Candidate> weighted = pool(3);
  weighted[0].weight = 1;
  weighted[1].weight = 2;
  weighted[2].weight = 3;
  auto wt = build_maglev_table(weighted);
  std::vector<double> share(3);
  for (auto e : wt) share[e] += 1.0 / static_cast<double>(wt.size());
  EXPECT_NEAR(share[0], 1.0 / 6, 0.001);
  EXPECT_NEAR(share[1], 2.0 / 6, 0.001);
  EXPECT_NEAR(share[2], 3.0 / 6, 0.001);
}

TEST(Maglev, RejectsWhatCannotBeBuilt) {
  EXPECT_TRUE(build_maglev_table(pool(3), 65536).empty());  // not prime: a walk could loop forever
  EXPECT_TRUE(build_maglev_table(pool(3, 0)).empty());      // nobody has weight
  EXPECT_TRUE(build_maglev_table({}).empty());
  auto small = build_maglev_table(pool(3), 7);
  EXPECT_EQ(small.size(), 7u);
}

TEST(Maglev, WeightZeroHoldsNoSlot) {
  auto c = pool(4);
  c[2].weight = 0;
  for (auto e : build_maglev_table(c)) EXPECT_NE(e, 2u);
}

// Two gateways that learned the same backends in another order (a registry's events, a reload)
// must send every key to the same backend.
TEST(Maglev, TheTableDependsOnTheBackendsNotOnTheirOrder) {
  auto c = pool(7);
  c[2].weight = 3;
  auto shuffled = c;
  std::reverse(shuffled.begin(), shuffled.end());
  std::rotate(shuffled.begin(), shuffled.begin() + 3, shuffled.end());
  auto a = build_maglev_table(c);
  auto b = build_maglev_table(shuffled);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t slot = 0; slot < a.size(); ++slot) ASSERT_EQ(c[a[slot]].id, shuffled[b[slot]].id) << slot;
}

TEST(ConsistentHash, SameKeySameBackendAcrossSeparateBalancers) {
  auto c = pool(10);
  auto a = make_balancer(Policy::consistent_hash, 1);
  auto b = make_balancer(Policy::consistent_hash, 2);
  a->update(c);
  b->update(c);
  for (auto const& k : random_keys(10000)) {
    auto pa = a->pick(c, RequestKey{k, ""}, {});
    ASSERT_TRUE(pa);
    EXPECT_EQ(pa, b->pick(c, RequestKey{k, ""}, {}));
    EXPECT_EQ(pa, a->pick(c, RequestKey{k, ""}, {}));  // and again on the same one
  }
  // Pinned placements: the same in every process and build.
  EXPECT_EQ(a->pick(c, RequestKey{"user-1", ""}, {}), 4u);
  EXPECT_EQ(a->pick(c, RequestKey{"user-2", ""}, {}), 9u);
  EXPECT_EQ(a->pick(c, RequestKey{"user-3", ""}, {}), 8u);
}

TEST(ConsistentHash, SpreadsRandomKeysEvenlyOverTen) {
  auto c = pool(10);
  auto b = make_balancer(Policy::consistent_hash, 0);
  b->update(c);
  std::vector<int> counts(10);
  for (auto const& k : random_keys(100000)) ++counts[*b->pick(c, RequestKey{k, ""}, {})];
  for (int n : counts) EXPECT_NEAR(n, 10000, 500);
}

TEST(ConsistentHash, WeightedKeysFollowWeights) {
  auto c = pool(3);
  c[0].weight = 1;
  c[1].weight = 2;
  c[2].weight = 3;
  auto b = make_balancer(Policy::consistent_hash, 0);
  b->update(c);
  std::vector<int> counts(3);
  for (auto const& k : random_keys(120000)) ++counts[*b->pick(c, RequestKey{k, ""}, {})];
  EXPECT_NEAR(counts[0], 20000, 1000);
  EXPECT_NEAR(counts[1], 40000, 2000);
  EXPECT_NEAR(counts[2], 60000, 3000);
}

TEST(ConsistentHash, AddingAnEleventhMovesAboutOneEleventh) {
  auto const keys = random_keys(100000);
  auto ten = pool(10);
  auto eleven = pool(11);
  double const keys_moved = moved_fraction(owners(build_maglev_table(ten), ten, keys),
                                           owners(build_maglev_table(eleven), eleven, keys));
  std::printf("[maglev] add an 11th backend to 10: %.2f%% of %zu keys moved (ideal 1/11 = 9.09%%)\n",
              100 * keys_moved, keys.size());
  EXPECT_GE(keys_moved, 0.07);
  EXPECT_LE(keys_moved, 0.13);
}

TEST(ConsistentHash, RemovingOneOfTenMovesAboutOneTenth) {
  auto const keys = random_keys(100000);
  auto ten = pool(10);
  auto nine = ten;
  std::string const removed = nine[3].id;
  nine.erase(nine.begin() + 3);
  auto const before = owners(build_maglev_table(ten), ten, keys);
  auto const after = owners(build_maglev_table(nine), nine, keys);
  std::size_t on_removed = 0, others_moved = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (before[i] == removed) {
      ++on_removed;
    } else if (before[i] != after[i]) {
      ++others_moved;
    }
  }
  double const total = moved_fraction(before, after);
  double const collateral = static_cast<double>(others_moved) / static_cast<double>(keys.size());
  std::printf(
      "[maglev] remove 1 of 10 backends (rebuild): %.2f%% of %zu keys moved: %.2f%% were on the removed one "
      "(ideal 10%%), %.2f%% collateral\n",
      100 * total, keys.size(), 100.0 * static_cast<double>(on_removed) / static_cast<double>(keys.size()),
      100 * collateral);
  EXPECT_LE(total, 0.13);
  EXPECT_LE(collateral, 0.03);
}

TEST(ConsistentHash, BackendDownMovesOnlyItsOwnKeysSpreadOverTheRest) {
  // A health flip arrives without update(): the table stays, picks walk past the down backend.
  auto const keys = random_keys(100000);
  auto c = pool(10);
  auto b = make_balancer(Policy::consistent_hash, 0);
  b->update(c);
  std::vector<std::size_t> before;
  for (auto const& k : keys) before.push_back(*b->pick(c, RequestKey{k, ""}, {}));
  c[6].available = false;
  std::size_t moved = 0;
  std::vector<int> received(10);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::size_t const now = *b->pick(c, RequestKey{keys[i], ""}, {});
    ASSERT_NE(now, 6u);
    if (before[i] == 6) {
      ++moved;
      ++received[now];
    } else {
      ASSERT_EQ(now, before[i]) << "a key not on the down backend moved";
    }
  }
  double const fair = static_cast<double>(moved) / 9;
  double least = 1e9, most = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (i == 6) continue;
    least = std::min(least, received[i] / fair);
    most = std::max(most, received[i] / fair);
  }
  std::printf(
      "[maglev] 1 of 10 backends down (no rebuild): %.2f%% of %zu keys moved, all from the down one; "
      "each of the other 9 took %.0f%%..%.0f%% of a fair share of them\n",
      100.0 * static_cast<double>(moved) / static_cast<double>(keys.size()), keys.size(), 100 * least, 100 * most);
  for (std::size_t i = 0; i < 10; ++i) {
    if (i != 6) {
      EXPECT_NEAR(received[i], fair, 0.1 * fair) << "backend " << i;
    }
  }
  // Recovered: every key is home again.
  c[6].available = true;
  for (std::size_t i = 0; i < keys.size(); i += 10) EXPECT_EQ(b->pick(c, RequestKey{keys[i], ""}, {}), before[i]);
}

TEST(ConsistentHash, RetryGoesToAnotherFixedBackend) {
  auto c = pool(5);
  auto b = make_balancer(Policy::consistent_hash, 0);
  b->update(c);
  for (auto const& k : random_keys(1000)) {
    std::size_t const home = *b->pick(c, RequestKey{k, ""}, {});
    std::vector<std::size_t> const tried{home};
    auto retry = b->pick(c, RequestKey{k, ""}, tried);
    ASSERT_TRUE(retry);
    EXPECT_NE(*retry, home);
    EXPECT_EQ(retry, b->pick(c, RequestKey{k, ""}, tried));
  }
}

TEST(ConsistentHash, EmptyKeyRoundRobins) {
  auto c = pool(3);
  auto b = make_balancer(Policy::consistent_hash, 0);
  b->update(c);
  std::string s;
  for (int i = 0; i < 6; ++i) s += static_cast<char>('a' + *b->pick(c, RequestKey{}, {}));
  EXPECT_EQ(s, "abcabc");
}

TEST(ConsistentHash, BackendGivenWeightAfterUpdateIsStillReachable) {
  // Weight 0 at update(): no slots. Later it is the only one up; picks must still find it.
  auto c = pool(3);
  c[1].weight = 0;
  auto b = make_balancer(Policy::consistent_hash, 0);
  b->update(c);
  c[1].weight = 1;
  c[0].available = false;
  c[2].available = false;
  EXPECT_EQ(b->pick(c, RequestKey{"k", ""}, {}), 1u);
}

}  // namespace
}  // namespace outboard::gateway
