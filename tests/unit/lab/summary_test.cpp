// The verdict and the table read only the results document: a mode passes only with zero on
// every loss invariant, nothing unexplained and at least one journey done.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/run_stats.hpp"
#include "lab/summary.hpp"

namespace outboard::lab {
namespace {

using nlohmann::json;

json clean_mode(std::string name) {
  RunStats stats(0);
  stats.journey_completed();
  stats.record_request(100, 2.0, true);
  json m = stats.to_json(1000);
  m["mode"] = std::move(name);
  return m;
}

TEST(Verdict, ZeroLossWithJourneysPasses) {
  json v = judge(clean_mode("stateless"));
  EXPECT_TRUE(v.at("ok").get<bool>());
  EXPECT_NE(v.at("text").get<std::string>().find("lost nothing"), std::string::npos);
}

TEST(Verdict, EveryLossInvariantFailsTheMode) {
  for (char const* name : {"unexpected_logouts", "lost_cart_lines", "duplicated_cart_lines", "duplicate_orders",
                           "lost_orders", "upload_mismatches", "failed_retryable"}) {
    json m = clean_mode("x");
    m["invariants"][name] = 3;
    json v = judge(m);
    EXPECT_FALSE(v.at("ok").get<bool>()) << name;
    EXPECT_NE(v.at("text").get<std::string>().find("LOST 3"), std::string::npos) << v.dump();
  }
}

TEST(Verdict, UnexplainedAnswersAndNoJourneysFail) {
  json odd = clean_mode("x");
  odd["unexpected_answers"] = {{"signup answered 409", 1}};
  json odd_verdict = judge(odd);
  EXPECT_FALSE(odd_verdict.at("ok").get<bool>());
  // The verdict names what the answer was, so that a failing run's output says where to look.
  EXPECT_NE(odd_verdict.at("text").get<std::string>().find("1 unexplained answers (signup answered 409 x1)"),
            std::string::npos)
      << odd_verdict.dump();
  json idle = clean_mode("x");
  idle["journeys"]["completed"] = 0;
  json v = judge(idle);
  EXPECT_FALSE(v.at("ok").get<bool>());
  EXPECT_NE(v.at("text").get<std::string>().find("no journey completed"), std::string::npos);
}

TEST(Verdict, NamesTheSecondsOfTheLogoutsAndTheFaults) {
  RunStats stats(0);
  stats.journey_completed();
  stats.record_event(3500, "kill", "kill -9 s1");
  stats.record_event(4500, "restart", "s1 back");
  stats.record_logout(3600);
  stats.record_logout(4100);
  stats.record_logout(8200);
  json m = stats.to_json(10'000);
  std::string text = judge(m).at("text").get<std::string>();
  EXPECT_NE(text.find("LOST 3 unexpected logouts"), std::string::npos) << text;
  EXPECT_NE(text.find("second 3-4, 8"), std::string::npos) << text;
  EXPECT_NE(text.find("kill at 3.5s"), std::string::npos) << text;
  EXPECT_EQ(text.find("restart at"), std::string::npos) << "follow-up events are not faults: " << text;
}

TEST(Table, OneColumnPerModeAndAVerdictLineEach) {
  json a = clean_mode("stateful");
  a["invariants"]["unexpected_logouts"] = 42;
  a["verdict"] = judge(a);
  json b = clean_mode("stateless");
  b["verdict"] = judge(b);
  json results = {{"scenario", {{"name", "crash"}}},
                  {"settings", {{"servers", 3}, {"users", 10}, {"duration_s", 5.0}, {"store", "sqlite"}, {"seed", 1}}},
                  {"modes", {a, b}}};
  std::string table = render_table(results);
  EXPECT_NE(table.find("outboard lab: crash (3 servers, 10 users"), std::string::npos) << table;
  EXPECT_NE(table.find("stateful   stateless"), std::string::npos) << table;
  EXPECT_NE(table.find("stateful   FAIL LOST 42 unexpected logouts"), std::string::npos) << table;
  EXPECT_NE(table.find("stateless  PASS"), std::string::npos) << table;
}

TEST(RunStats, AttemptsAreClassifiedAndTheTimelineIsPerSecond) {
  RunStats stats(1000);
  Reply refused;
  refused.failure = Failure::connect;
  Reply slow;
  slow.failure = Failure::timeout;
  Reply bad_gateway;
  bad_gateway.status = 502;
  bad_gateway.served_by = "s2";
  Reply fine;
  fine.status = 200;
  fine.served_by = "s1";
  stats.record_attempt(1100, refused);
  stats.record_attempt(1200, slow);
  stats.record_attempt(2100, bad_gateway);
  stats.record_attempt(2200, fine);
  stats.record_request(2200, 7.0, true);
  json j = stats.to_json(2000);
  EXPECT_EQ(j["failures"]["connect"], 1);
  EXPECT_EQ(j["failures"]["timeout"], 1);
  EXPECT_EQ(j["failures"]["server_5xx"], 1);
  EXPECT_EQ(j["failures"]["total"], 3);
  ASSERT_EQ(j["timeline"].size(), 2u);
  EXPECT_EQ(j["timeline"][0]["errors"], 2);
  EXPECT_EQ(j["timeline"][1]["errors"], 1);
  EXPECT_EQ(j["timeline"][1]["requests"], 1);
  EXPECT_EQ(j["served_by"]["s1"], 1);
  EXPECT_EQ(j["served_by"]["s2"], 1);
  EXPECT_DOUBLE_EQ(j["requests"]["per_second"].get<double>(), 0.5);
}

TEST(RunStats, LoadImbalanceIsTheBusiestShareTimesTheServers) {
  RunStats stats(0);
  stats.record_servers(0, 2);
  Reply s1;
  s1.status = 200;
  s1.served_by = "s1";
  Reply s2 = s1;
  s2.served_by = "s2";
  // Second 0: even. Second 1: s1 takes three of four answers. Second 2: a third server joins, idle.
  stats.record_attempt(100, s1);
  stats.record_attempt(200, s2);
  for (int i = 0; i < 3; ++i) stats.record_attempt(1100, s1);
  stats.record_attempt(1200, s2);
  stats.record_servers(2000, 3);
  stats.record_attempt(2100, s1);
  stats.record_attempt(2200, s2);
  stats.journey_completed();
  json j = stats.to_json(3000);
  EXPECT_DOUBLE_EQ(j["timeline"][0]["load_imbalance"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["timeline"][1]["load_imbalance"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["timeline"][2]["load_imbalance"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["load"]["peak_imbalance"].get<double>(), 1.5);
  EXPECT_NEAR(j["load"]["imbalance"].get<double>(), 4.0 / 3.0, 1e-9);
  std::string text = judge(j).at("text").get<std::string>();
  EXPECT_NE(text.find("uneven load"), std::string::npos) << text;
}

TEST(RunStats, QuantileIsNearestRank) {
  std::vector<float> samples;
  for (int i = 1; i <= 100; ++i) samples.push_back(static_cast<float>(i));
  EXPECT_DOUBLE_EQ(quantile(samples, 0.5), 50);
  EXPECT_DOUBLE_EQ(quantile(samples, 0.99), 99);
  EXPECT_DOUBLE_EQ(quantile(samples, 1.0), 100);
  EXPECT_DOUBLE_EQ(quantile({}, 0.99), 0);
}

}  // namespace
}  // namespace outboard::lab
