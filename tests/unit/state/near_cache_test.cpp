// The near-cache's bookkeeping with plain values (no Redis): placeholders, bound, TTL, flushes.
// What Redis adds (tracking, invalidation messages, a dropped link) is in near_cache_redistest.cpp.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "state/redis/near_cache.hpp"

namespace outboard::state {
namespace {

using namespace std::chrono_literals;

CachedValue text(std::string s) { return std::optional<std::string>(std::move(s)); }

class NearCacheBook : public ::testing::Test {
 protected:
  NearCacheBook() { cache_.linked(7); }

  // A read as the store does it: placeholder, then the reply fills.
  bool read_and_fill(std::string const& key, std::string value) {
    auto ticket = cache_.begin_read(key);
    return ticket && cache_.fill(key, "", *ticket, text(std::move(value)));
  }

  core::ManualClock clock_;
  NearCache cache_{2, 1000ms, clock_};
};

TEST_F(NearCacheBook, AFilledReadIsAHitAndMissesAreCounted) {
  EXPECT_FALSE(cache_.lookup("k", ""));
  ASSERT_TRUE(read_and_fill("k", "v"));
  auto hit = cache_.lookup("k", "");
  ASSERT_TRUE(hit);
  EXPECT_EQ(std::get<std::optional<std::string>>(*hit), "v");
  EXPECT_FALSE(cache_.lookup("k", "h:field")) << "another read of the key is not the same slot";
  auto s = cache_.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
}

// The placeholder rule: an invalidation between a read's start and its reply wins.
TEST_F(NearCacheBook, AnInvalidationBetweenReadAndReplyRefusesTheFill) {
  auto ticket = cache_.begin_read("k");
  ASSERT_TRUE(ticket);
  EXPECT_EQ(ticket->client_id, 7);
  cache_.invalidate("k");
  auto again = cache_.begin_read("k");  // a later read starts a new placeholder
  EXPECT_FALSE(cache_.fill("k", "", *ticket, text("stale")));
  EXPECT_FALSE(cache_.lookup("k", ""));
  EXPECT_TRUE(cache_.fill("k", "", *again, text("fresh")));
  EXPECT_EQ(std::get<std::optional<std::string>>(*cache_.lookup("k", "")), "fresh");
  EXPECT_EQ(cache_.stats().invalidations, 1u);
}

TEST_F(NearCacheBook, WhileUnlinkedNothingIsCachedAndALinkStartsEmpty) {
  ASSERT_TRUE(read_and_fill("k", "v"));
  auto in_flight = cache_.begin_read("j");
  cache_.unlinked();
  EXPECT_EQ(cache_.stats().flushes, 1u);
  EXPECT_FALSE(cache_.lookup("k", ""));
  EXPECT_FALSE(cache_.begin_read("k")) << "reads bypass the cache while unlinked";
  cache_.linked(8);
  EXPECT_FALSE(cache_.fill("j", "", *in_flight, text("v"))) << "a read from the old link fills nothing";
  auto s = cache_.stats();
  EXPECT_TRUE(s.linked);
  EXPECT_EQ(s.entries, 0u);
}

TEST_F(NearCacheBook, KeepsAtMostMaxKeysDroppingTheLeastRecentlyUsed) {
  ASSERT_TRUE(read_and_fill("a", "1"));
  ASSERT_TRUE(read_and_fill("b", "2"));
  ASSERT_TRUE(cache_.lookup("a", ""));  // b is now the least recently used
  ASSERT_TRUE(read_and_fill("c", "3"));
  EXPECT_EQ(cache_.stats().entries, 2u);
  EXPECT_TRUE(cache_.lookup("a", ""));
  EXPECT_FALSE(cache_.lookup("b", ""));
  EXPECT_TRUE(cache_.lookup("c", ""));
}

TEST_F(NearCacheBook, AValueIsDroppedAtItsTtl) {
  ASSERT_TRUE(read_and_fill("k", "v"));
  clock_.advance(999ms);
  EXPECT_TRUE(cache_.lookup("k", ""));
  clock_.advance(1ms);
  EXPECT_FALSE(cache_.lookup("k", ""));
}

}  // namespace
}  // namespace outboard::state
