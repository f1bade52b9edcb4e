// The lab's token client: what it takes from a login answer and when it refreshes.
#include "lab/token_wallet.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace outboard::lab {
namespace {

using nlohmann::json;

std::string wallet_answer(json access, json refresh, json expires_in) {
  return json{{"user", "u"}, {"access_token", access}, {"token_type", "Bearer"}, {"expires_in", expires_in},
              {"refresh_token", refresh}}
      .dump();
}

TEST(TokenWallet, TakesThePairAndRefreshesWithAFifthOfTheLifetimeLeft) {
  TokenWallet wallet;
  ASSERT_TRUE(wallet.take(wallet_answer("a1", "r1", 10), 1'000));
  EXPECT_TRUE(wallet.holding());
  EXPECT_EQ(wallet.authorization(), "Bearer a1");
  EXPECT_EQ(json::parse(wallet.refresh_request()), (json{{"refresh_token", "r1"}}));
  EXPECT_FALSE(wallet.should_refresh(1'000));
  EXPECT_FALSE(wallet.should_refresh(8'999));  // 10 s lifetime, 2 s margin: refresh from 9 s on
  EXPECT_TRUE(wallet.should_refresh(9'000));
}

TEST(TokenWallet, AShortLifetimeStillLeavesOneSecond) {
  TokenWallet wallet;
  ASSERT_TRUE(wallet.take(wallet_answer("a", "r", 2), 0));
  EXPECT_FALSE(wallet.should_refresh(999));
  EXPECT_TRUE(wallet.should_refresh(1'000));
  ASSERT_TRUE(wallet.take(wallet_answer("a", "r", 1), 0));
  EXPECT_TRUE(wallet.should_refresh(0));  // no time to spare: refresh before the next request
}

TEST(TokenWallet, RefusesAnAnswerWithoutBothTokensAndKeepsWhatItHad) {
  TokenWallet wallet;
  ASSERT_TRUE(wallet.take(wallet_answer("a1", "r1", 60), 0));
  for (auto const& bad : {wallet_answer("", "r2", 60), wallet_answer("a2", "", 60), wallet_answer("a2", "r2", 0), wallet_answer("a2", "r2", -5),
                          wallet_answer("a2", "r2", "60"), wallet_answer(7, "r2", 60), wallet_answer("a2", nullptr, 60),
                          std::string("{\"user\":\"u\"}"), std::string("not json"), std::string("[]")}) {
    EXPECT_FALSE(wallet.take(bad, 0)) << bad;
  }
  EXPECT_EQ(wallet.access_token(), "a1");
  wallet.forget();
  EXPECT_FALSE(wallet.holding());
  EXPECT_FALSE(wallet.should_refresh(1'000'000));
}

}  // namespace
}  // namespace outboard::lab
