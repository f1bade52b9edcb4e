// The receipt ledger's arithmetic (src/lab/receipt_ledger.hpp), on plain GET /orders/{id} answers.
#include "lab/receipt_ledger.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace outboard::lab {
namespace {

using nlohmann::json;

json answer(std::int64_t deliveries, json fences, json job) {
  return {{"order", {{"order_id", "o1"}}},
          {"receipt", {{"state", deliveries > 0 ? "sent" : "pending"}, {"deliveries", deliveries}, {"fences", fences},
                       {"job", job}}}};
}

json job(char const* state, std::int64_t fence) { return {{"state", state}, {"attempts", 1}, {"fence", fence}}; }

TEST(ReceiptLedger, ReadsTheReceiptOfAnOrderAnswer) {
  auto reading = read_receipt(answer(2, json::array({2, 1}), job("done", 2)));
  ASSERT_TRUE(reading);
  EXPECT_EQ(reading->deliveries, 2);
  EXPECT_EQ(reading->fences, (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(reading->job_state, "done");
  EXPECT_EQ(reading->job_fence, 2);
  // A job no answering server can see (a naive server's own queue) is null.
  auto unseen = read_receipt(answer(0, json::array(), nullptr));
  ASSERT_TRUE(unseen);
  EXPECT_FALSE(unseen->job_state);
}

TEST(ReceiptLedger, AnAnswerWithoutAReceiptIsNoReading) {
  EXPECT_FALSE(read_receipt(json{{"order", {{"order_id", "o1"}}}}));
  EXPECT_FALSE(read_receipt(json{{"receipt", {{"state", "sent"}}}}));  // no deliveries
  EXPECT_FALSE(read_receipt(json{{"receipt", {{"deliveries", "1"}}}}));
  EXPECT_FALSE(read_receipt(json::array()));
}

TEST(ReceiptLedger, AReadingIsFinalWhenTheJobEndedOrAnUnseenJobSentItsReceipt) {
  EXPECT_TRUE(receipt_settled(*read_receipt(answer(1, json::array({1}), job("done", 1)))));
  EXPECT_TRUE(receipt_settled(*read_receipt(answer(0, json::array(), job("dead", 5)))));
  EXPECT_FALSE(receipt_settled(*read_receipt(answer(0, json::array(), job("running", 1)))));
  EXPECT_FALSE(receipt_settled(*read_receipt(answer(0, json::array(), job("waiting", 0)))));
  // A receipt already sent while its job still runs (a stale holder's write) may be followed by more.
  EXPECT_FALSE(receipt_settled(*read_receipt(answer(1, json::array({1}), job("running", 2)))));
  EXPECT_TRUE(receipt_settled(*read_receipt(answer(1, json::array({1}), nullptr))));
  EXPECT_FALSE(receipt_settled(*read_receipt(answer(0, json::array(), nullptr))));
}

TEST(ReceiptLedger, AStaleWriteIsOneCommittedAfterAHigherFencesWrite) {
  EXPECT_EQ(stale_writes({}), 0);
  EXPECT_EQ(stale_writes({1}), 0);
  EXPECT_EQ(stale_writes({1, 2}), 0);      // the first holder wrote before the second: a duplicate, not provably stale
  EXPECT_EQ(stale_writes({2, 1}), 1);      // the paused first holder wrote after its successor
  EXPECT_EQ(stale_writes({3, 1, 2}), 2);
  EXPECT_EQ(stale_writes({1, 1}), 0);      // two queues' first claims (naive): no lease was taken over
  EXPECT_EQ(stale_writes({1, 3, 2, 3}), 1);
}

TEST(ReceiptLedger, CountsLostDuplicatedAndStaleOverTheLastReadings) {
  std::vector<std::optional<ReceiptReading>> readings{
      read_receipt(answer(1, json::array({1}), job("done", 1))),         // exactly once
      read_receipt(answer(0, json::array(), nullptr)),                   // lost (a naive server's queue died)
      read_receipt(answer(0, json::array(), job("dead", 5))),            // dead-lettered: no receipt either
      read_receipt(answer(2, json::array({2, 1}), job("done", 2))),      // a paused holder wrote after the takeover
      read_receipt(answer(3, json::array({1, 2, 3}), job("done", 3))),   // run three times, in order
      std::nullopt,                                                       // never read: not judged
  };
  ReceiptCounts counts = count_receipts(readings);
  EXPECT_EQ(counts.orders, 6);
  EXPECT_EQ(counts.unreadable, 1);
  EXPECT_EQ(counts.sent, 3);
  EXPECT_EQ(counts.lost, 2);
  EXPECT_EQ(counts.duplicated, 1 + 2);
  EXPECT_EQ(counts.stale_writes, 1);
  EXPECT_EQ(counts.dead, 1);
}

TEST(ReceiptLedger, OneReceiptPerOrderCountsNothing) {
  std::vector<std::optional<ReceiptReading>> readings;
  for (int fence = 1; fence <= 4; ++fence) {
    // However many claims it took (a kill, a hang), one receipt with the last claim's fence.
    readings.push_back(read_receipt(answer(1, json::array({fence}), job("done", fence))));
  }
  ReceiptCounts counts = count_receipts(readings);
  EXPECT_EQ(counts.sent, 4);
  EXPECT_EQ(counts.lost + counts.duplicated + counts.stale_writes + counts.unreadable, 0);
}

}  // namespace
}  // namespace outboard::lab
