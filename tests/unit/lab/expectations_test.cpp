// --expect: what a CI pipeline expects of each design, and whether the run met it.
#include "lab/expectations.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace outboard::lab {
namespace {

using nlohmann::json;

std::vector<std::string> const kPlanned{"stateful", "stateless"};

std::string error_of(std::vector<std::string> const& items) {
  try {
    parse_expectations(items, kPlanned);
  } catch (ExpectationError const& e) {
    return e.what();
  }
  return "(no ExpectationError)";
}

json results_with(bool stateful_ok, bool stateless_ok) {
  return {{"modes", json::array({{{"mode", "stateful"}, {"verdict", {{"ok", stateful_ok}}}},
                                 {{"mode", "stateless"}, {"verdict", {{"ok", stateless_ok}}}}})}};
}

TEST(Expectations, ParsesOneVerdictPerPlannedMode) {
  auto const e = parse_expectations({"stateless=pass", "stateful=FAIL"}, kPlanned);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].mode, "stateless");
  EXPECT_TRUE(e[0].pass);
  EXPECT_EQ(e[1].mode, "stateful");
  EXPECT_FALSE(e[1].pass);
  EXPECT_TRUE(parse_expectations({}, kPlanned).empty());
}

TEST(Expectations, RefusesWhatCouldNeverBeChecked) {
  EXPECT_NE(error_of({"sticky=pass"}).find("'sticky' is not among --modes (stateful,stateless)"), std::string::npos);
  EXPECT_NE(error_of({"stateless"}).find("expected MODE=pass or MODE=fail"), std::string::npos);
  EXPECT_NE(error_of({"stateless=maybe"}).find("pass or fail"), std::string::npos);
  EXPECT_NE(error_of({"stateless=pass", "stateless=fail"}).find("given twice"), std::string::npos);
}

TEST(Expectations, MetOnlyWhenTheVerdictIsTheOneExpected) {
  auto const expected = parse_expectations({"stateless=pass", "stateful=fail"}, kPlanned);
  auto const as_expected = check_expectations(expected, results_with(false, true));
  EXPECT_TRUE(all_met(as_expected));
  auto const text = render_expectations(as_expected);
  EXPECT_NE(text.find("stateless  expected PASS, got PASS: met"), std::string::npos) << text;
  EXPECT_NE(text.find("all 2 expectations met"), std::string::npos) << text;

  auto const surprised = check_expectations(expected, results_with(true, true));
  EXPECT_FALSE(all_met(surprised));
  EXPECT_TRUE(surprised[0].met());
  EXPECT_FALSE(surprised[1].met());
  auto const surprise_text = render_expectations(surprised);
  EXPECT_NE(surprise_text.find("stateful   expected FAIL, got PASS: NOT MET"), std::string::npos) << surprise_text;
  EXPECT_NE(surprise_text.find("1 of 2 expectations NOT met"), std::string::npos) << surprise_text;
}

TEST(Expectations, AModeMissingFromTheResultsIsNotMet) {
  auto const expected = parse_expectations({"stateless=pass"}, kPlanned);
  for (json const& doc : {json::object(), json{{"modes", json::array({{{"mode", "stateful"}}})}},
                          json{{"modes", json::array({{{"mode", "stateless"}, {"verdict", "ok"}}})}}}) {
    auto const outcomes = check_expectations(expected, doc);
    EXPECT_FALSE(all_met(outcomes)) << doc.dump();
    EXPECT_NE(render_expectations(outcomes).find("got no verdict: NOT MET"), std::string::npos) << doc.dump();
  }
}

TEST(Expectations, RecordedInTheResultsAsPlainValues) {
  auto const expected = parse_expectations({"stateful=fail", "stateless=pass"}, kPlanned);
  auto const doc = expectations_json(check_expectations(expected, results_with(true, true)));
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0], (json{{"mode", "stateful"}, {"expected", "fail"}, {"actual", "pass"}, {"met", false}}));
  EXPECT_EQ(doc[1], (json{{"mode", "stateless"}, {"expected", "pass"}, {"actual", "pass"}, {"met", true}}));
  auto const missing = expectations_json(check_expectations(expected, json::object()));
  EXPECT_TRUE(missing[1].at("actual").is_null());
  EXPECT_FALSE(missing[1].at("met").get<bool>());
}

}  // namespace
}  // namespace outboard::lab
