// Placement: rendezvous hashing over the live members' addresses.
#include <gtest/gtest.h>

#include "actors/members.hpp"
#include "core/stable_hash.hpp"

namespace outboard::actors {
namespace {

std::vector<Member> members_at(std::vector<int> ports) {
  std::vector<Member> out;
  for (int p : ports) out.push_back(Member{"127.0.0.1:" + std::to_string(p) + "#x", "127.0.0.1:" + std::to_string(p)});
  return out;
}

TEST(Placement, AServerThatJoinsTakesAboutOneNthOfTheRoomsAndNothingElseMoves) {
  auto four = members_at({8001, 8002, 8003, 8004});
  auto five = members_at({8001, 8002, 8003, 8004, 8005});
  constexpr int kRooms = 20'000;
  int moved = 0;
  std::map<std::string, int> per_member;
  for (int i = 0; i < kRooms; ++i) {
    std::string room = "room-" + std::to_string(i);
    auto before = placement_of(four, room);
    auto after = placement_of(five, room);
    ++per_member[before];
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "127.0.0.1:8005") << room << " moved between two old members";
    }
  }
  double share = static_cast<double>(moved) / kRooms;
  EXPECT_GT(share, 0.17);  // 1/5 expected; 20,000 draws keep it within about +-0.01
  EXPECT_LT(share, 0.23);
  for (auto const& [member, rooms] : per_member) {
    EXPECT_GT(rooms, kRooms / 4 * 9 / 10) << member;  // an even spread, within 10%
    EXPECT_LT(rooms, kRooms / 4 * 11 / 10) << member;
  }
}

TEST(Placement, EveryServerAgreesWhateverOrderItListsTheMembersIn) {
  auto a = members_at({8003, 8001, 8002});
  auto b = members_at({8002, 8003, 8001});
  for (int i = 0; i < 100; ++i) {
    std::string room = "r" + std::to_string(i);
    EXPECT_EQ(placement_of(a, room), placement_of(b, room));
  }
  EXPECT_EQ(placement_of({}, "r1"), "");
}

TEST(Placement, IsTheRendezvousPickOverThePathAGatewayHashes) {
  auto members = members_at({8001, 8002, 8003});
  std::vector<std::string> addresses{"127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"};
  for (int i = 0; i < 50; ++i) {
    std::string room = "g" + std::to_string(i);
    EXPECT_EQ(placement_of(members, room), addresses[core::rendezvous_pick(addresses, "/rooms/" + room)]);
  }
}

}  // namespace
}  // namespace outboard::actors
