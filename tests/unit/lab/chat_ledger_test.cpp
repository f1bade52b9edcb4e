// The chat ledger's rules (docs/LAB.md, "The chat journey") on hand-made event sequences: which
// messages a member is owed, and how losses, duplicates, reordering and reported gaps are counted.
#include "lab/chat_ledger.hpp"

#include <gtest/gtest.h>

namespace outboard::lab {
namespace {

constexpr int kAda = 1;
constexpr int kBob = 2;

TEST(ChatLedger, AMessageSentInsideAMembershipIsOwedAndCountedDeliveredWithItsLatency) {
  ChatLedger ledger;
  ledger.joined(kAda, "r1", 100);
  ledger.joined(kBob, "r1", 110);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 220);
  ledger.received(kAda, "r1", "ada", "m1", 1, 230);
  ledger.received(kBob, "r1", "ada", "m1", 1, 260);
  ChatReport r = ledger.report();
  EXPECT_EQ(r.expected, 2);
  EXPECT_EQ(r.delivered, 2);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.latency_max_ms, 60);  // receipt minus the first send's start
  EXPECT_EQ(ledger.outstanding(), 0);
}

TEST(ChatLedger, AnOwedMessageNeverReceivedIsLost) {
  ChatLedger ledger;
  ledger.joined(kAda, "r1", 100);
  ledger.joined(kBob, "r1", 100);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 220);
  ledger.received(kAda, "r1", "ada", "m1", 1, 230);
  EXPECT_FALSE(ledger.caught_up(kBob, "r1"));
  EXPECT_TRUE(ledger.caught_up(kAda, "r1"));
  EXPECT_EQ(ledger.outstanding(), 1);
  EXPECT_EQ(ledger.report().lost, 1);
}

TEST(ChatLedger, FlightsStraddlingAJoinOrALeaveAreNotOwed) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 300);                       // after m1's send started
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 320);  // straddles the join
  ledger.acknowledged("r1", "ada", "m2", 2, 400, 420);  // inside
  ledger.acknowledged("r1", "ada", "m3", 3, 480, 520);  // straddles the leave
  ledger.leaving(kBob, "r1", 500);
  ledger.acknowledged("r1", "ada", "m4", 4, 600, 620);  // after it
  ledger.received(kBob, "r1", "ada", "m2", 2, 430);
  ledger.received(kBob, "r1", "ada", "m3", 3, 525);  // arrives anyway: no error
  ChatReport r = ledger.report();
  EXPECT_EQ(r.expected, 1);
  EXPECT_EQ(r.delivered, 1);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.duplicated, 0);
  EXPECT_EQ(r.out_of_order, 0);
}

// Found by the default run: an acknowledgement read in the millisecond the leave was sent, after
// it, was counted as owed (and lost) to the user who had left.
TEST(ChatLedger, AFlightEndingInTheMillisecondOfTheLeaveIsNotOwed) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 100);
  ledger.acknowledged("r1", "ada", "m1", 1, 480, 499);
  ledger.acknowledged("r1", "ada", "m2", 2, 490, 500);
  ledger.leaving(kBob, "r1", 500);
  ledger.received(kBob, "r1", "ada", "m1", 1, 499);
  ChatReport r = ledger.report();
  EXPECT_EQ(r.expected, 1);
  EXPECT_EQ(r.lost, 0);
}

// Found by the default run: the settle phase ended with sends still unacknowledged; their
// acknowledgements, read while the users closed, made them owed to members who were gone.
TEST(ChatLedger, NothingAcknowledgedOnceTheMembershipsEndedIsOwed) {
  ChatLedger ledger;
  ledger.joined(kAda, "r1", 100);
  ledger.joined(kBob, "r1", 100);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 220);
  ledger.received(kBob, "r1", "ada", "m1", 1, 230);
  ledger.received(kAda, "r1", "ada", "m1", 1, 230);
  ledger.end_memberships(300);
  ledger.acknowledged("r1", "ada", "m2", 2, 280, 310);
  ChatReport r = ledger.report();
  EXPECT_EQ(r.expected, 2);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(ledger.outstanding(), 0);
}

TEST(ChatLedger, ARejoinAfterAReconnectResumesTheMembership) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 100);
  // The connection drops; the message is sent meanwhile; the rejoin's `joined` comes later.
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 220);
  ledger.joined(kBob, "r1", 400);
  EXPECT_EQ(ledger.report().expected, 1) << "a rejoin must not start a new membership";
  EXPECT_EQ(ledger.report().lost, 1);
  ledger.received(kBob, "r1", "ada", "m1", 1, 410);  // the replay
  EXPECT_EQ(ledger.report().lost, 0);
}

TEST(ChatLedger, ASecondMembershipAfterALeaveOwesOnlyWhatFallsInsideIt) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 100);
  ledger.leaving(kBob, "r1", 200);
  ledger.acknowledged("r1", "ada", "m1", 1, 250, 260);  // between the memberships
  ledger.joined(kBob, "r1", 300);
  ledger.acknowledged("r1", "ada", "m2", 2, 350, 360);
  ledger.received(kBob, "r1", "ada", "m2", 2, 370);
  ChatReport r = ledger.report();
  EXPECT_EQ(r.expected, 1);
  EXPECT_EQ(r.lost, 0);
}

TEST(ChatLedger, OneSenderAndIdReceivedTwiceIsOneDuplicateAndNotAlsoOutOfOrder) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 100);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 220);
  ledger.received(kBob, "r1", "ada", "m1", 1, 230);
  ledger.received(kBob, "r1", "ada", "m1", 1, 240);  // replayed again
  ledger.received(kBob, "r1", "ada", "m1", 7, 250);  // stored twice (no dedupe): another seq, same id
  ChatReport r = ledger.report();
  EXPECT_EQ(r.duplicated, 2);
  EXPECT_EQ(r.out_of_order, 0);
  EXPECT_EQ(r.delivered, 1);
  EXPECT_EQ(r.received, 3);
}

TEST(ChatLedger, TheSameIdFromTwoSendersOrInTwoRoomsIsNoDuplicate) {
  ChatLedger ledger;
  ledger.received(kBob, "r1", "ada", "m1", 1, 230);
  ledger.received(kBob, "r1", "cy", "m1", 2, 231);
  ledger.received(kBob, "r2", "ada", "m1", 1, 232);
  ledger.received(kAda, "r1", "ada", "m1", 1, 233);
  EXPECT_EQ(ledger.report().duplicated, 0);
}

TEST(ChatLedger, ASeqNotAboveThePreviousOneInTheRoomIsOutOfOrder) {
  ChatLedger ledger;
  ledger.received(kBob, "r1", "ada", "m3", 3, 100);
  ledger.received(kBob, "r1", "ada", "m2", 2, 110);  // below
  ledger.received(kBob, "r1", "cy", "m9", 3, 120);   // equal: not above
  ledger.received(kBob, "r1", "ada", "m4", 4, 130);
  ledger.received(kBob, "r2", "ada", "m1", 1, 140);  // another room has its own order
  ledger.received(kAda, "r1", "ada", "m1", 1, 150);  // another user too
  EXPECT_EQ(ledger.report().out_of_order, 2);
}

TEST(ChatLedger, MessagesInsideAReportedGapAreCountedApartNotLost) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 100);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 210);
  ledger.acknowledged("r1", "ada", "m2", 2, 220, 230);
  ledger.acknowledged("r1", "ada", "m3", 3, 240, 250);
  ledger.acknowledged("r1", "ada", "m4", 4, 260, 270);
  ledger.received(kBob, "r1", "ada", "m1", 1, 215);
  // Reconnected with since = 1; the history starts at 4 now: 2 and 3 are gone, and said so.
  ledger.history_truncated(kBob, "r1", 1, 4);
  ledger.received(kBob, "r1", "ada", "m4", 4, 400);
  ChatReport r = ledger.report();
  EXPECT_EQ(r.history_truncated, 1);
  EXPECT_EQ(r.in_reported_gaps, 2);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(ledger.outstanding(), 0);
  EXPECT_TRUE(ledger.caught_up(kBob, "r1"));
}

TEST(ChatLedger, ASecondAcknowledgementOfOneMessageKeepsTheFirstFlight) {
  ChatLedger ledger;
  ledger.joined(kBob, "r1", 100);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 220);
  ledger.acknowledged("r1", "ada", "m1", 1, 200, 900);  // answered `duplicate` after a resend
  ledger.leaving(kBob, "r1", 500);
  ChatReport r = ledger.report();
  EXPECT_EQ(r.acknowledged, 1);
  EXPECT_EQ(r.expected, 1);
  EXPECT_EQ(r.lost, 1);
}

}  // namespace
}  // namespace outboard::lab
