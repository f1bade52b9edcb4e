// The fence: once a room's lease has been taken over, its old owner can neither renew, release,
// checkpoint nor journal, whatever it still believes. On the memory store with a manual clock
// (the same Store contract as every backend: tests/unit/state/store_conformance_test.cpp).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "actors/room_records.hpp"
#include "state/store.hpp"
#include "support/run_coro.hpp"

namespace outboard::actors {
namespace {

using testing::run_coro;
constexpr core::Millis kTtl{1000};

class RoomRecords : public ::testing::Test {
 protected:
  RoomRecords() {
    state::StoreOptions options;
    options.clock = &clock_;
    provider_ = state::open_store("memory://", options);
    store_ = provider_->store_for(io_.get_executor());
  }
  template <class T>
  T run(boost::asio::awaitable<core::Result<T>> op) {
    auto r = run_coro(io_, std::move(op));
    if (!r) throw std::runtime_error(r.error().context);
    return *r;
  }

  core::ManualClock clock_;
  boost::asio::io_context io_;
  std::unique_ptr<state::StoreProvider> provider_;
  std::shared_ptr<state::Store> store_;
};

TEST_F(RoomRecords, ATakenOverLeaseFencesEveryWriteOfItsOldOwner) {
  auto old_owner = run(acquire_lease(*store_, "r1", "a#1", kTtl));
  ASSERT_TRUE(old_owner);
  EXPECT_EQ(old_owner->generation, 1);
  EXPECT_FALSE(run(acquire_lease(*store_, "r1", "b#1", kTtl)));  // held
  ASSERT_TRUE(run(save_checkpoint(*store_, "r1", old_owner->token, "state-1")));
  ASSERT_TRUE(run(append_journal(*store_, "r1", old_owner->token, "move-2")));

  clock_.advance(kTtl + core::Millis(1));  // the old owner paused past its lease
  auto new_owner = run(acquire_lease(*store_, "r1", "b#1", kTtl));
  ASSERT_TRUE(new_owner);
  EXPECT_GT(new_owner->generation, old_owner->generation);
  auto saved = run(load_room(*store_, "r1"));
  EXPECT_EQ(saved.checkpoint, "state-1");
  EXPECT_EQ(saved.journal, std::vector<std::string>{"move-2"});

  // The old owner wakes: every write is refused.
  EXPECT_FALSE(run(renew_lease(*store_, "r1", old_owner->token, kTtl)));
  EXPECT_FALSE(run(save_checkpoint(*store_, "r1", old_owner->token, "stale")));
  EXPECT_FALSE(run(append_journal(*store_, "r1", old_owner->token, "stale-move")));
  EXPECT_FALSE(run(release_lease(*store_, "r1", old_owner->token)));
  saved = run(load_room(*store_, "r1"));
  EXPECT_EQ(saved.checkpoint, "state-1");
  EXPECT_EQ(saved.journal, std::vector<std::string>{"move-2"});
  auto holder = run(lease_of(*store_, "r1"));
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->token, new_owner->token);

  // The new owner's checkpoint empties the journal in the same step.
  ASSERT_TRUE(run(save_checkpoint(*store_, "r1", new_owner->token, "state-2")));
  saved = run(load_room(*store_, "r1"));
  EXPECT_EQ(saved.checkpoint, "state-2");
  EXPECT_TRUE(saved.journal.empty());
  ASSERT_TRUE(run(release_lease(*store_, "r1", new_owner->token)));
  EXPECT_FALSE(run(lease_of(*store_, "r1")));
}

TEST_F(RoomRecords, ARenewedLeaseOutlivesItsFirstTtl) {
  auto lease = run(acquire_lease(*store_, "r2", "a#1", kTtl));
  ASSERT_TRUE(lease);
  clock_.advance(kTtl / 2);
  ASSERT_TRUE(run(renew_lease(*store_, "r2", lease->token, kTtl)));
  clock_.advance(kTtl * 3 / 4);  // past the first TTL, within the renewed one
  EXPECT_FALSE(run(acquire_lease(*store_, "r2", "b#1", kTtl)));
  EXPECT_TRUE(run(renew_lease(*store_, "r2", lease->token, kTtl)));
}

TEST(RoomLease, TokensNameTheMemberAndTheGeneration) {
  auto lease = parse_lease("127.0.0.1:80#ab/12");
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->member, "127.0.0.1:80#ab");
  EXPECT_EQ(lease->generation, 12);
  EXPECT_FALSE(parse_lease("no-generation"));
  EXPECT_FALSE(parse_lease("m/12x"));
  EXPECT_FALSE(parse_lease("/3"));
}

}  // namespace
}  // namespace outboard::actors
