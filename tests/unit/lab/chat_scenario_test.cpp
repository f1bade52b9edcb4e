// The scenario key that mixes chat users in (`chat = "25%"`) and which users it picks.
#include <gtest/gtest.h>

#include <string>

#include "lab/scenario.hpp"

namespace outboard::lab {
namespace {

std::string chat_parse_error(std::string const& text) {
  try {
    parse_scenario(text, "c.toml");
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "";
}

TEST(ChatScenario, TheShareIsReadAsAPercentageAndDefaultsToNone) {
  EXPECT_DOUBLE_EQ(parse_scenario("name = \"a\"\nchat = \"25%\"\n", "c.toml").chat_share, 0.25);
  EXPECT_DOUBLE_EQ(parse_scenario("name = \"a\"\n", "c.toml").chat_share, 0.0);
}

TEST(ChatScenario, AShareThatIsNotAPercentageNamesTheFileLineAndKey) {
  for (char const* bad : {"chat = 25", "chat = \"25\"", "chat = \"125%\"", "chat = \"-5%\""}) {
    std::string error = chat_parse_error(std::string("name = \"a\"\n") + bad + "\n");
    EXPECT_NE(error.find("c.toml:2: key 'chat'"), std::string::npos) << bad << ": " << error;
  }
}

TEST(ChatScenario, UsersAreSpreadEvenlyAndTheCountMatchesTheShare) {
  auto count = [](int users, double share) {
    int n = 0;
    for (int i = 0; i < users; ++i) n += is_chat_user(i, share) ? 1 : 0;
    return n;
  };
  EXPECT_EQ(count(20, 0.25), 5);
  EXPECT_EQ(count(200, 0.25), 50);
  EXPECT_EQ(count(7, 1.0), 7);
  EXPECT_EQ(count(7, 0.0), 0);
  EXPECT_FALSE(is_chat_user(0, 0.25));
  EXPECT_TRUE(is_chat_user(3, 0.25));
  EXPECT_FALSE(is_chat_user(4, 0.25));
}

TEST(ChatScenario, TheChatBuiltInsAreChatOnlyAndTheDefaultMixesAQuarterIn) {
  EXPECT_DOUBLE_EQ(find_scenario("chat").chat_share, 1.0);
  EXPECT_FALSE(find_scenario("chat").faults.empty());
  EXPECT_DOUBLE_EQ(builtin_scenarios().front().chat_share, 0.25);
}

}  // namespace
}  // namespace outboard::lab
