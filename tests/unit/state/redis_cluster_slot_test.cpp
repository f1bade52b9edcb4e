// Redis Cluster's key -> slot function against values Redis itself documents and computes
// (CLUSTER KEYSLOT), and the parsing of what the cluster tells us: CLUSTER SLOTS and -MOVED/-ASK.
#include <gtest/gtest.h>

#include "state/redis_cluster/key_slot.hpp"
#include "state/redis_cluster/slot_map.hpp"

namespace outboard::state::redis_cluster {
namespace {

TEST(RedisClusterSlot, Crc16OfTheSpecsCheckString) { EXPECT_EQ(crc16("123456789"), 0x31C3); }

TEST(RedisClusterSlot, KnownSlots) {
  EXPECT_EQ(key_slot("foo"), 12182);  // CLUSTER KEYSLOT foo
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(RedisClusterSlot, HashTagsPlaceKeysTogether) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_NE(key_slot("user1000.following"), key_slot("user1000.followers"));
  // Only the first {...} counts, and only when it is not empty.
  EXPECT_EQ(hashed_part("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hashed_part("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(hashed_part("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hashed_part("foo{bar"), "foo{bar");
  EXPECT_EQ(hashed_part("}foo{bar}"), "bar");
}

Reply integer(std::int64_t n) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = n;
  return r;
}

Reply string(std::string s) {
  Reply r;
  r.type = Reply::Type::string;
  r.str = std::move(s);
  return r;
}

Reply array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::array;
  r.elements = std::move(elements);
  return r;
}

TEST(RedisClusterSlot, ParsesClusterSlots) {
  Reply reply = array({
      array({integer(0), integer(5460), array({string("127.0.0.1"), integer(7000), string("id-a")}),
             array({string("127.0.0.1"), integer(7003), string("id-d")})}),
      array({integer(5461), integer(16383), array({string(""), integer(7001), string("id-b")})}),
  });
  auto map = parse_cluster_slots(reply, "10.0.0.9");
  ASSERT_TRUE(map.has_value()) << map.error().describe();
  ASSERT_EQ(map->masters.size(), 2u);
  EXPECT_EQ(map->masters[map->owner[0]].name(), "127.0.0.1:7000");
  EXPECT_EQ(map->masters[map->owner[5460]].name(), "127.0.0.1:7000");
  // An empty host means the node that answered.
  EXPECT_EQ(map->masters[map->owner[5461]].name(), "10.0.0.9:7001");
  EXPECT_EQ(map->masters[map->owner[16383]].name(), "10.0.0.9:7001");

  auto partial = parse_cluster_slots(array({array({integer(0), integer(10), array({string("h"), integer(1)})})}), "x");
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->owner[11], SlotMap::kNobody);

  EXPECT_FALSE(parse_cluster_slots(string("nope"), "x").has_value());
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(16384), array({string("h"), integer(1)})})}), "x")
                   .has_value());
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(1)})}), "x").has_value());
  // One slot claimed by two masters: refused (it used to be the last range that won).
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(100), array({string("h"), integer(1)})}),
                                          array({integer(100), integer(200), array({string("h"), integer(2)})})}),
                                   "x")
                   .has_value());
}

TEST(RedisClusterSlot, ParsesRedirections) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, Redirect::Kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->target.name(), "127.0.0.1:6381");
  auto ask = parse_redirect("ASK 12182 ::1:7002");
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, Redirect::Kind::ask);
  EXPECT_EQ(ask->target.host, "::1");
  EXPECT_EQ(ask->target.port, 7002);
  EXPECT_FALSE(parse_redirect("MOVED 16384 h:1").has_value());
  EXPECT_FALSE(parse_redirect("MOVED 1 h").has_value());
  EXPECT_FALSE(parse_redirect("CLUSTERDOWN The cluster is down").has_value());
  EXPECT_FALSE(parse_redirect("ERR MOVED 1 h:1").has_value());
}

}  // namespace
}  // namespace outboard::state::redis_cluster
