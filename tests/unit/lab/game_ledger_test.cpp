// The game ledger's judgements (lab/game_ledger.hpp) on hand-made event sequences: which
// acknowledged moves a room's record shows lost, which of them lie beyond a design's bound, when
// two activations of a room count as a double activation, and how long a player took to recover;
// then how the results, the table and the verdict show them.
#include "lab/game_ledger.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/run_stats.hpp"
#include "lab/summary.hpp"

namespace outboard::lab {
namespace {

constexpr int kAnn = 1;
constexpr int kBen = 2;

void acknowledge_moves(GameLedger& ledger, int player, std::string const& room, std::int64_t from_seq, std::int64_t to_seq,
                 std::int64_t at_ms = 100) {
  for (auto seq = from_seq; seq <= to_seq; ++seq) ledger.acknowledged(player, room, seq, at_ms);
}

TEST(GameLedger, ARejoinWhoseRecordIsBelowTheAcknowledgedMovesLosesThem) {
  GameLedger ledger;
  ledger.welcomed(kAnn, "game-0", 0, 10);
  acknowledge_moves(ledger, kAnn, "game-0", 1, 5);
  ledger.welcomed(kAnn, "game-0", 3, 500);  // the room came back holding moves 1-3 only
  GameReport r = ledger.report();
  EXPECT_EQ(r.lost, 2);
  EXPECT_EQ(r.lost_beyond_bound, 2);  // bound 0: no loss is promised
  EXPECT_EQ(r.losses, 1);
  EXPECT_EQ(r.moves_acknowledged, 5);
  EXPECT_EQ(r.welcomes, 2);
}

TEST(GameLedger, SeqNumbersReusedAfterALossAreJudgedAfresh) {
  GameLedger ledger;
  acknowledge_moves(ledger, kAnn, "game-0", 1, 5);
  ledger.welcomed(kAnn, "game-0", 3, 500);
  acknowledge_moves(ledger, kAnn, "game-0", 4, 6, 600);  // the player goes on from 4: a new epoch
  ledger.welcomed(kAnn, "game-0", 6, 900, true);   // the final audit finds all of them
  GameReport r = ledger.report();
  EXPECT_EQ(r.lost, 2);  // only the first epoch's 4 and 5
  EXPECT_EQ(r.moves_acknowledged, 8);
  EXPECT_EQ(r.audits, 1);
}

TEST(GameLedger, ARecordAboveWhatWasAcknowledgedIsAnAcknowledgementLostInFlightNotALoss) {
  GameLedger ledger;
  acknowledge_moves(ledger, kAnn, "game-0", 1, 3);
  ledger.welcomed(kAnn, "game-0", 4, 500);  // move 4 was accepted, its `moved` never arrived
  ledger.welcomed(kAnn, "game-0", 4, 900, true);
  GameReport r = ledger.report();
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.losses, 0);
}

TEST(GameLedger, MovesAConfirmedRecordHeldAreLostWhenALaterRecordFallsBelowThem) {
  GameLedger ledger;
  acknowledge_moves(ledger, kAnn, "game-0", 1, 5);
  ledger.welcomed(kAnn, "game-0", 5, 500);  // everything held
  ledger.acknowledged(kAnn, "game-0", 6, 600);
  ledger.welcomed(kAnn, "game-0", 2, 900);  // back to an older checkpoint
  EXPECT_EQ(ledger.report().lost, 4);       // 3, 4, 5, 6
}

TEST(GameLedger, AnOutOfOrderRefusalIsTheRoomsRecordToo) {
  GameLedger ledger;
  acknowledge_moves(ledger, kAnn, "game-0", 1, 4);
  ledger.resynced(kAnn, "game-0", 3, 500);  // "expected 3": the room holds 1-2
  EXPECT_EQ(ledger.report().lost, 2);
}

TEST(GameLedger, OnePlayersLossIsNotAnothers) {
  GameLedger ledger;
  acknowledge_moves(ledger, kAnn, "game-0", 1, 3);
  acknowledge_moves(ledger, kBen, "game-0", 1, 3);
  ledger.welcomed(kAnn, "game-0", 0, 500);
  ledger.welcomed(kBen, "game-0", 3, 500);
  EXPECT_EQ(ledger.report().lost, 3);
}

TEST(GameLedger, OnlyMovesAcknowledgedTheBoundBeforeTheNewestLostOneAreBeyondIt) {
  GameLedger ledger(2000);  // the design promises to lose at most its last 2 s
  ledger.acknowledged(kAnn, "game-0", 1, 0);
  ledger.acknowledged(kAnn, "game-0", 2, 1000);
  ledger.acknowledged(kAnn, "game-0", 3, 2500);
  ledger.acknowledged(kAnn, "game-0", 4, 3000);
  ledger.welcomed(kAnn, "game-0", 0, 3500);
  GameReport r = ledger.report();
  EXPECT_EQ(r.lost, 4);
  EXPECT_EQ(r.lost_beyond_bound, 2);  // moves 1 and 2: 3000 and 2000 ms before move 4
  EXPECT_EQ(r.lost_span_max_ms, 3000);
  EXPECT_EQ(r.loss_bound_ms, 2000);
}

TEST(GameLedger, ActivationsOneAfterAnotherAreNoDoubleActivation) {
  GameLedger ledger;
  ledger.accepted("game-0", "s1/1", 100);
  ledger.accepted("game-0", "s1/1", 500);
  ledger.accepted("game-0", "s2/2", 600);  // the next owner, after the first one's last move
  ledger.accepted("game-0", "s2/2", 900);
  ledger.accepted("game-0", "s2/2", 900);  // the same move seen by another player
  GameReport r = ledger.report();
  EXPECT_EQ(r.double_activations, 0);
  EXPECT_EQ(r.overlapping_pairs, 0);
  EXPECT_EQ(r.rooms, 1);
  EXPECT_EQ(r.activations, 2);
}

TEST(GameLedger, OverlappingActivationsCountTheRoomOnceAndEveryPair) {
  GameLedger ledger;
  ledger.accepted("game-0", "s1/1", 100);
  ledger.accepted("game-0", "s1/1", 500);
  ledger.accepted("game-1", "s1/1", 100);
  ledger.accepted("game-1", "s1/1", 500);
  ledger.accepted("game-1", "s2/2", 400);  // accepts while s1/1 still does
  ledger.accepted("game-1", "s2/2", 800);
  ledger.accepted("game-1", "s3/3", 450);  // inside both
  ledger.accepted("game-2", "s1/1", 100);
  ledger.accepted("game-2", "s2/2", 100);  // the very same microsecond
  GameReport r = ledger.report();
  EXPECT_EQ(r.double_activations, 2);  // game-1 and game-2
  EXPECT_EQ(r.overlapping_pairs, 4);   // game-1: 3 pairs, game-2: 1
}

TEST(GameLedger, RecoveryRunsFromTheFirstDropToTheNextAcknowledgedMove) {
  GameLedger ledger;
  ledger.acknowledged(kAnn, "game-0", 1, 100);  // no drop before it: no recovery
  ledger.dropped(kAnn, "dropped", 1000);
  ledger.dropped(kAnn, "1012", 1500);           // the reconnect failed again: the same outage
  ledger.acknowledged(kAnn, "game-0", 2, 2300);
  ledger.dropped(kBen, "ack_timeout", 0);
  ledger.acknowledged(kBen, "game-0", 1, 400);
  ledger.dropped(kBen, "dropped", 5000);        // never recovered before the run ended: no sample
  GameReport r = ledger.report();
  EXPECT_EQ(r.recoveries, 2);
  EXPECT_EQ(r.recovery_p50_ms, 400);
  EXPECT_EQ(r.recovery_p99_ms, 1300);
  EXPECT_EQ(r.recovery_max_ms, 1300);
  EXPECT_EQ(r.closes.at("dropped"), 2);
  EXPECT_EQ(r.closes.at("1012"), 1);
  EXPECT_EQ(r.closes.at("ack_timeout"), 1);
}

TEST(GameLedger, CountsMovesRefusalsAndReconnects) {
  GameLedger ledger;
  ledger.count_move();
  ledger.count_move();
  ledger.refused("out_of_order");
  ledger.refused("out_of_order");
  ledger.refused("room_full");
  ledger.count_connect(false);
  ledger.count_connect(true);
  ledger.audit_missing();
  GameReport r = ledger.report();
  EXPECT_EQ(r.moves_sent, 2);
  EXPECT_EQ(r.refused.at("out_of_order"), 2);
  EXPECT_EQ(r.refused.at("room_full"), 1);
  EXPECT_EQ(r.connects, 2);
  EXPECT_EQ(r.reconnects, 1);
  EXPECT_EQ(r.audits_missing, 1);
}

// One mode's results after a game run whose ledger saw `events`.
template <typename Events>
nlohmann::json game_mode(Events events) {
  GameLedger ledger(0);
  events(ledger);
  RunStats stats(0);
  stats.set_game(ledger.report());
  nlohmann::json mode = stats.to_json(1000);
  mode["mode"] = "actors-journal";
  return mode;
}

TEST(GameSummary, AGameOnlyRunThatLostNothingPassesOnItsMoves) {
  auto mode = game_mode([](GameLedger& l) {
    acknowledge_moves(l, kAnn, "game-0", 1, 3);
    l.welcomed(kAnn, "game-0", 3, 900, true);
  });
  EXPECT_EQ(mode["game"]["moves_acknowledged"], 3);
  nlohmann::json verdict = judge(mode);
  EXPECT_TRUE(verdict.value("ok", false)) << verdict.dump();
  EXPECT_NE(verdict.value("text", "").find("3 game moves"), std::string::npos) << verdict.dump();
}

TEST(GameSummary, LostMovesAndDoubleActivationsFailTheVerdict) {
  auto mode = game_mode([](GameLedger& l) {
    acknowledge_moves(l, kAnn, "game-0", 1, 3);
    l.welcomed(kAnn, "game-0", 1, 900, true);
    l.accepted("game-0", "s1/1", 100);
    l.accepted("game-0", "s1/1", 500);
    l.accepted("game-0", "s2/1", 300);
  });
  EXPECT_EQ(mode["invariants"]["lost_moves"], 2);
  EXPECT_EQ(mode["invariants"]["double_activations"], 1);
  nlohmann::json verdict = judge(mode);
  EXPECT_FALSE(verdict.value("ok", true));
  std::string text = verdict.value("text", "");
  EXPECT_NE(text.find("2 acknowledged moves lost"), std::string::npos) << text;
  EXPECT_NE(text.find("1 double activations"), std::string::npos) << text;
}

TEST(GameSummary, TheGameRowsShowOnlyForARunWithPlayers) {
  auto with = render_table({{"modes", {game_mode([](GameLedger&) {})}}});
  for (char const* row : {"must never happen: game rooms", "acknowledged moves lost", "double activations",
                          "moves acknowledged", "recovery p50 (ms)", "recovery p99 (ms)"}) {
    EXPECT_NE(with.find(row), std::string::npos) << row << "\n" << with;
  }
  RunStats shop(0);
  shop.journey_completed();
  nlohmann::json mode = shop.to_json(1000);
  mode["mode"] = "stateless";
  EXPECT_FALSE(mode.contains("game"));
  auto without = render_table({{"modes", {mode}}});
  EXPECT_EQ(without.find("acknowledged moves lost"), std::string::npos) << without;
  EXPECT_EQ(without.find("moves acknowledged"), std::string::npos) << without;
}

}  // namespace
}  // namespace outboard::lab
