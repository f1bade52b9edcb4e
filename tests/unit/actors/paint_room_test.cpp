// The game's rules and its records: what a checkpoint saves and a journal replays.
#include <gtest/gtest.h>

#include "actors/paint_room.hpp"
#include "actors/protocol.hpp"

namespace outboard::actors {
namespace {

TEST(PaintRoom, MovesFollowEachPlayersOwnSequence) {
  PaintRoom room;
  std::int64_t expected = 0;
  EXPECT_EQ(room.check("ada", Move{1, 0, 0}, expected), Refusal::not_in_room);
  ASSERT_FALSE(room.join("ada"));
  EXPECT_EQ(room.check("ada", Move{2, 0, 0}, expected), Refusal::out_of_order);
  EXPECT_EQ(expected, 1);
  EXPECT_EQ(room.check("ada", Move{1, 16, 0}, expected), Refusal::out_of_bounds);
  EXPECT_EQ(room.check("ada", Move{1, 0, -1}, expected), Refusal::out_of_bounds);
  ASSERT_FALSE(room.check("ada", Move{1, 3, 2}, expected));
  room.apply("ada", Move{1, 3, 2});
  EXPECT_EQ(room.last_seq("ada"), 1);
  EXPECT_EQ(room.version(), 1);
  EXPECT_EQ(room.grid()[2 * kGridSide + 3], 'a');
  EXPECT_EQ(room.check("ada", Move{1, 3, 2}, expected), Refusal::out_of_order);  // a repeat is not a second move
}

TEST(PaintRoom, SeatsAtMostSixteenPlayersAndKeepsTheirSlotsAcrossRejoins) {
  PaintRoom room;
  for (int i = 0; i < static_cast<int>(kMaxPlayers); ++i) ASSERT_FALSE(room.join("p" + std::to_string(i)));
  EXPECT_EQ(room.join("late"), Refusal::room_full);
  EXPECT_FALSE(room.join("p3"));  // already seated: fine
}

TEST(PaintRoom, ACheckpointAndAJournalRestoreTheSameRoom) {
  PaintRoom room;
  ASSERT_FALSE(room.join("ada"));
  ASSERT_FALSE(room.join("bob"));
  room.apply("ada", Move{1, 0, 0});
  room.apply("bob", Move{1, 15, 15});
  auto restored = PaintRoom::decode(room.encode());
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->encode(), room.encode());
  auto entry = PaintRoom::decode_entry(PaintRoom::encode_entry("bob", Move{2, 4, 5}));
  ASSERT_TRUE(entry);
  restored->apply(entry->player, entry->move);
  EXPECT_EQ(restored->last_seq("bob"), 2);
  EXPECT_EQ(restored->version(), 3);
}

TEST(PaintRoom, CorruptRecordsAreRefusedNotTrusted) {
  EXPECT_FALSE(PaintRoom::decode("not json"));
  EXPECT_FALSE(PaintRoom::decode(R"({"v":1,"players":[],"grid":"short"})"));
  EXPECT_FALSE(PaintRoom::decode(R"({"v":1,"players":[],"grid":")" + std::string(256, 'a') + "\"}"));  // slot a: nobody
  EXPECT_FALSE(PaintRoom::decode_entry(R"({"p":"x","s":1,"x":99,"y":0})"));
}

TEST(ActorsProtocol, ParsesJoinAndMoveAndNamesWhatIsWrong) {
  EXPECT_TRUE(std::holds_alternative<JoinMessage>(parse_client_message(R"({"type":"join"})")));
  auto move = parse_client_message(R"({"type":"move","seq":3,"x":1,"y":2})");
  ASSERT_TRUE(std::holds_alternative<MoveMessage>(move));
  EXPECT_EQ(std::get<MoveMessage>(move).move.seq, 3);
  auto bad = [](std::string_view text) {
    auto m = parse_client_message(text);
    return std::holds_alternative<BadMessage>(m) ? std::optional(std::get<BadMessage>(m)) : std::nullopt;
  };
  EXPECT_EQ(bad("{"), BadMessage::malformed);
  EXPECT_EQ(bad("[]"), BadMessage::malformed);
  EXPECT_EQ(bad(R"({"type":"move","seq":0,"x":1,"y":2})"), BadMessage::malformed);
  EXPECT_EQ(bad(R"({"type":"move","seq":1,"x":"1","y":2})"), BadMessage::malformed);
  EXPECT_EQ(bad(R"({"type":"move","seq":1,"x":99999999999,"y":2})"), BadMessage::malformed);
  EXPECT_EQ(bad(R"({"type":"dance"})"), BadMessage::unknown_type);
  EXPECT_EQ(bad(R"({"type":"join","game":"chess"})"), BadMessage::unknown_game);
  EXPECT_EQ(bad(std::string(kMaxClientMessageBytes + 1, ' ')), BadMessage::malformed);
}

TEST(ActorsProtocol, RoomIds) {
  EXPECT_TRUE(valid_room_id("game-7_A"));
  EXPECT_FALSE(valid_room_id(""));
  EXPECT_FALSE(valid_room_id("a/b"));
  EXPECT_FALSE(valid_room_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace outboard::actors
