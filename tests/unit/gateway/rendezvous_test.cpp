// The rendezvous policy picks what `outboard serve` places a game room on (docs/ACTORS.md), and
// a down backend's keys, only they, move to their next choice.
#include <gtest/gtest.h>

#include "core/stable_hash.hpp"
#include "gateway/balancer.hpp"

namespace outboard::gateway {
namespace {

TEST(RendezvousPolicy, PicksTheServerThatOwnsTheRoomByTheSameHash) {
  std::vector<Candidate> c{{"127.0.0.1:8001", 1, 0, true}, {"127.0.0.1:8002", 1, 0, true}, {"127.0.0.1:8003", 1, 0, true}};
  std::vector<std::string> ids{c[0].id, c[1].id, c[2].id};
  auto b = make_balancer(Policy::rendezvous, 1);
  b->update(c);
  for (int i = 0; i < 200; ++i) {
    std::string path = "/rooms/game-" + std::to_string(i);
    auto picked = b->pick(c, RequestKey{path, ""}, {});
    ASSERT_TRUE(picked);
    EXPECT_EQ(*picked, core::rendezvous_pick(ids, path)) << path;
  }
}

TEST(RendezvousPolicy, ADownBackendsKeysMoveAndNoOthers) {
  std::vector<Candidate> c{{"a:1", 1, 0, true}, {"b:1", 1, 0, true}, {"c:1", 1, 0, true}, {"d:1", 1, 0, true}};
  auto b = make_balancer(Policy::rendezvous, 1);
  b->update(c);
  std::vector<std::size_t> before;
  for (int i = 0; i < 1000; ++i) before.push_back(*b->pick(c, RequestKey{"k" + std::to_string(i), ""}, {}));
  c[2].available = false;
  for (int i = 0; i < 1000; ++i) {
    auto now = *b->pick(c, RequestKey{"k" + std::to_string(i), ""}, {});
    if (before[static_cast<std::size_t>(i)] != 2) {
      EXPECT_EQ(now, before[static_cast<std::size_t>(i)]);
    }
    EXPECT_NE(now, 2u);
  }
}

}  // namespace
}  // namespace outboard::gateway
