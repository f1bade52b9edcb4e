// Scenario files must fail before the lab starts anything, with the file, the line and the key;
// the built-ins must parse and fit a typical run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>

#include "lab/scenario.hpp"

namespace outboard::lab {
namespace {

std::string error_of(std::function<void()> const& f) {
  try {
    f();
  } catch (ScenarioError const& e) {
    return e.what();
  }
  return "(no ScenarioError)";
}

std::string parse_error(std::string const& text) {
  return error_of([&] { (void)parse_scenario(text, "t.toml"); });
}

std::string fits_error(Scenario const& s, int servers, std::int64_t duration_ms, bool store_process = true) {
  return error_of([&] { check_scenario_fits(s, servers, duration_ms, store_process); });
}

// A file under the system temp dir with a name no other test run uses; removed on destruction.
class TempFile {
 public:
  TempFile(std::string const& suffix, std::string const& text) {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("outboard-scenario-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" +
             std::to_string(counter++) + suffix);
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(TempFile const&) = delete;
  TempFile& operator=(TempFile const&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// ---------------------------------------------------------------------------------------------
// Built-ins

TEST(ScenarioBuiltins, AreInTheDocumentedOrder) {
  std::vector<std::string> names;
  for (auto const& s : builtin_scenarios()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"crash-and-deploy", "crash", "hung-server", "rolling-deploy",
                                              "scale", "store-restart", "everything", "calm", "chat", "game", "jobs",
                                              "truth", "redis-failover", "postgres-restart",
                                              "store-partition"}));
}

TEST(ScenarioBuiltins, EachHasADescriptionAndFitsATypicalRun) {
  for (auto const& s : builtin_scenarios()) {
    SCOPED_TRACE(s.name);
    EXPECT_FALSE(s.description.empty());
    EXPECT_EQ(s.description.find('\n'), std::string::npos);
    // The truth faults need two gateways and the registry (truth_faults_test.cpp refuses them otherwise).
    StoreEngines engines{.redis_cluster = true, .postgres = true};
    EXPECT_NO_THROW(check_scenario_fits(s, 3, 20'000, true, 2, true, engines));
    if (s.name != "store-restart") {
      EXPECT_NO_THROW(check_scenario_fits(s, 3, 20'000, false, 2, true, engines));
    }
  }
}

TEST(ScenarioBuiltins, StoreEngineFaultsNeedTheirEngine) {
  std::string failover = error_of([] { check_scenario_fits(find_scenario("redis-failover"), 3, 20'000, true); });
  EXPECT_NE(failover.find("needs a Redis Cluster: run with --store redis-cluster"), std::string::npos) << failover;
  std::string restart = error_of([] {
    check_scenario_fits(find_scenario("postgres-restart"), 3, 20'000, false, 1, false, {.redis_cluster = true});
  });
  EXPECT_NE(restart.find("needs PostgreSQL: run with --data postgres"), std::string::npos) << restart;
}

TEST(ScenarioBuiltins, StoreRestartNeedsAStoreProcess) {
  Scenario s = find_scenario("store-restart");
  std::string error = fits_error(s, 3, 20'000, false);
  EXPECT_NE(error.find("scenario 'store-restart'"), std::string::npos) << error;
  EXPECT_NE(error.find("fault 1 (restart-store)"), std::string::npos) << error;
  EXPECT_NE(error.find("the sqlite store is embedded in each server; restart-store needs --store redis"),
            std::string::npos)
      << error;
}

TEST(ScenarioBuiltins, DefaultIsCrashAndDeploy) {
  Scenario const& s = builtin_scenarios().front();
  EXPECT_EQ(s.name, "crash-and-deploy");
  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::kill);
  EXPECT_EQ(s.faults[0].target.index, 1);
  EXPECT_FALSE(s.faults[0].target.random);
  EXPECT_EQ(s.faults[0].restart_after_ms, 1000);
  EXPECT_EQ(s.faults[0].at.resolve(20'000), 4'000);
  // The hang makes delivery ambiguous: longer than the lab gateway's 1.5 s first-byte timeout,
  // so requests sent to the frozen server are retried elsewhere and run again when it wakes.
  EXPECT_EQ(s.faults[1].kind, FaultKind::hang);
  EXPECT_EQ(s.faults[1].target.index, 2);
  EXPECT_EQ(s.faults[1].lasting_ms, 2000);
  EXPECT_EQ(s.faults[2].kind, FaultKind::rolling_deploy);
  EXPECT_EQ(s.faults[2].at.resolve(20'000), 11'000);
}

TEST(ScenarioBuiltins, EverythingHasEveryServerFaultAndCalmHasNone) {
  Scenario e = find_scenario("everything");
  ASSERT_EQ(e.faults.size(), 5u);
  EXPECT_EQ(e.faults[1].kind, FaultKind::hang);
  EXPECT_EQ(e.faults[1].target.index, 2);
  EXPECT_EQ(e.faults[1].lasting_ms, 2000);
  EXPECT_TRUE(find_scenario("calm").faults.empty());
  EXPECT_TRUE(find_scenario("crash").faults.at(0).target.random);
}

// ---------------------------------------------------------------------------------------------
// Parsing what is valid

// Every key a scenario may hold, faults out of time order.
constexpr char const* kEveryKey = R"(
name = "mine"
description = "all keys"

[[fault]]
at = "60%"
action = "scale-out"
count = 2

[[fault]]
at = "1500ms"
action = "kill"
target = 2
restart_after = "2s"
note = "the first to go"

[[fault]]
at = "12s"
action = "hang"
target = "random"
lasting = "250ms"

[[fault]]
at = "12.5%"
action = "scale-in"

[[fault]]
at = "0%"
action = "restart-store"
)";

TEST(ScenarioParse, ReadsEveryKeyAndKeepsFileOrder) {
  Scenario s = parse_scenario(kEveryKey, "t.toml");
  EXPECT_EQ(s.name, "mine");
  EXPECT_EQ(s.description, "all keys");
  ASSERT_EQ(s.faults.size(), 5u);

  EXPECT_EQ(s.faults[0].kind, FaultKind::scale_out);  // file order, not time order
  EXPECT_EQ(s.faults[0].count, 2);
  EXPECT_DOUBLE_EQ(*s.faults[0].at.fraction, 0.6);
  EXPECT_FALSE(s.faults[0].at.offset_ms);

  EXPECT_EQ(s.faults[1].kind, FaultKind::kill);
  EXPECT_EQ(s.faults[1].at.offset_ms, 1500);
  EXPECT_EQ(s.faults[1].target.index, 2);
  EXPECT_FALSE(s.faults[1].target.random);
  EXPECT_EQ(s.faults[1].restart_after_ms, 2000);
  EXPECT_EQ(s.faults[1].note, "the first to go");

  EXPECT_EQ(s.faults[2].kind, FaultKind::hang);
  EXPECT_EQ(s.faults[2].at.offset_ms, 12'000);
  EXPECT_TRUE(s.faults[2].target.random);
  EXPECT_EQ(s.faults[2].lasting_ms, 250);

  EXPECT_EQ(s.faults[3].kind, FaultKind::scale_in);
  EXPECT_EQ(s.faults[3].count, 1);  // default
  EXPECT_DOUBLE_EQ(*s.faults[3].at.fraction, 0.125);

  EXPECT_EQ(s.faults[4].kind, FaultKind::restart_store);
  EXPECT_EQ(s.faults[4].at.resolve(20'000), 0);
}

// What `lab --check` prints: the faults in firing order (ties in file order), at their times.
TEST(ScenarioPlan, ListsTheFaultsInFiringOrderWithResolvedTimes) {
  Scenario s = parse_scenario(kEveryKey, "t.toml");
  EXPECT_EQ(fault_plan(s, 20'000),
            (std::vector<std::string>{"at 0s (0%): restart-store [t.toml:28]",
                                      "at 1500ms: kill server 2, replaced after 2s (the first to go) [t.toml:11]",
                                      "at 2500ms (12.5%): scale-in 1 [t.toml:24]", "at 12s (60%): scale-out 2 [t.toml:6]",
                                      "at 12s: hang a random server for 250ms [t.toml:18]"}));
  // A share moves with the duration; an offset does not.
  EXPECT_EQ(fault_plan(s, 10'000).at(3), "at 6s (60%): scale-out 2 [t.toml:6]");
  // A built-in's lines are inside the binary: not shown.
  EXPECT_EQ(fault_plan(find_scenario("crash"), 10'000).at(0).find('['), std::string::npos);
  EXPECT_TRUE(fault_plan(parse_scenario("name = \"calm\"\n", "t.toml"), 10'000).empty());
}

TEST(ScenarioParse, DefaultsAndZeroFaults) {
  Scenario s = parse_scenario("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"kill\"\n", "t.toml");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].target.index, 1);
  EXPECT_FALSE(s.faults[0].target.random);
  EXPECT_FALSE(s.faults[0].restart_after_ms);
  EXPECT_TRUE(s.description.empty());

  Scenario baseline = parse_scenario("name = \"baseline\"\n", "t.toml");
  EXPECT_TRUE(baseline.faults.empty());
}

TEST(ScenarioParse, ToStringNamesEveryKind) {
  EXPECT_EQ(to_string(FaultKind::kill), "kill");
  EXPECT_EQ(to_string(FaultKind::hang), "hang");
  EXPECT_EQ(to_string(FaultKind::rolling_deploy), "rolling-deploy");
  EXPECT_EQ(to_string(FaultKind::scale_out), "scale-out");
  EXPECT_EQ(to_string(FaultKind::scale_in), "scale-in");
  EXPECT_EQ(to_string(FaultKind::restart_store), "restart-store");
}

TEST(FaultTime, ResolvesOffsetsAndShares) {
  FaultTime offset;
  offset.offset_ms = 1500;
  EXPECT_EQ(offset.resolve(20'000), 1500);
  EXPECT_EQ(offset.resolve(1'000), 1500);  // an offset ignores the duration

  FaultTime share;
  share.fraction = 0.4;
  EXPECT_EQ(share.resolve(20'000), 8'000);
  EXPECT_EQ(share.resolve(0), 0);
  share.fraction = 0.125;
  EXPECT_EQ(share.resolve(1'001), 125);  // 125.125 rounds to nearest
  share.fraction = 0.5;
  EXPECT_EQ(share.resolve(3), 2);  // 1.5 rounds away from zero
}

// ---------------------------------------------------------------------------------------------
// Parse errors: SOURCE:LINE: key '...': reason

TEST(ScenarioParseErrors, TomlSyntaxErrorNamesFileAndLine) {
  std::string error = parse_error("name = \"x\"\n\n[[fault]]\nat = \n");
  EXPECT_EQ(error.rfind("t.toml:4: ", 0), 0u) << error;
}

TEST(ScenarioParseErrors, DuplicateKeyIsASyntaxError) {
  std::string error = parse_error("name = \"x\"\nname = \"y\"\n");
  EXPECT_EQ(error.rfind("t.toml:2: ", 0), 0u) << error;
}

TEST(ScenarioParseErrors, MissingName) {
  std::string error = parse_error("description = \"no name\"\n");
  EXPECT_NE(error.find("t.toml:1: key 'name': missing"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, NameMustBeANonEmptyString) {
  EXPECT_NE(parse_error("name = 3\n").find("t.toml:1: key 'name': expected a string, got an integer"),
            std::string::npos);
  EXPECT_NE(parse_error("\nname = \"\"\n").find("t.toml:2: key 'name': must not be empty"), std::string::npos);
}

TEST(ScenarioParseErrors, UnknownTopLevelKey) {
  std::string error = parse_error("name = \"x\"\ndescripton = \"typo\"\n");
  EXPECT_NE(error.find("t.toml:2: key 'descripton': unknown key"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, UnknownKeyInAFaultIsReportedAtItsLine) {
  std::string error = parse_error(R"(name = "x"

[[fault]]
at = "1s"
action = "kill"

[[fault]]
at = "2s"
action = "hang"
lasting = "1s"
targt = 2
)");
  EXPECT_NE(error.find("t.toml:11: key 'fault[2].targt': unknown key"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, FirstUnknownKeyInFileOrder) {
  // toml++ iterates keys alphabetically; the message must point at the first one in the file.
  std::string error = parse_error("name = \"x\"\n[[fault]]\nzz = 1\nat = \"1s\"\naa = 2\naction = \"kill\"\n");
  EXPECT_NE(error.find("t.toml:3: key 'fault[1].zz': unknown key"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, KeyThatDoesNotApplyToTheAction) {
  std::string error = parse_error(R"(name = "x"
[[fault]]
at = "1s"
action = "kill"
lasting = "2s"
)");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].lasting': does not apply to a kill fault (only to hang, partition-registry, slow-registry, latency, loss and partition)"),
            std::string::npos)
      << error;

  error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"hang\"\nlasting = \"1s\"\ncount = 2\n");
  EXPECT_NE(error.find("t.toml:6: key 'fault[1].count': does not apply to a hang fault"), std::string::npos)
      << error;

  error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"scale-out\"\ntarget = 1\n");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].target': does not apply to a scale-out fault"), std::string::npos)
      << error;

  error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"hang\"\nlasting = \"1s\"\n"
                      "restart_after = \"1s\"\n");
  EXPECT_NE(error.find("t.toml:6: key 'fault[1].restart_after': does not apply to a hang fault"),
            std::string::npos)
      << error;
}

TEST(ScenarioParseErrors, MissingAtOrActionPointsAtTheFaultTable) {
  std::string error = parse_error("name = \"x\"\n\n[[fault]]\naction = \"kill\"\n");
  EXPECT_NE(error.find("t.toml:3: key 'fault[1].at': missing"), std::string::npos) << error;

  error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"kill\"\n\n[[fault]]\nat = \"2s\"\n");
  EXPECT_NE(error.find("t.toml:6: key 'fault[2].action': missing"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, HangNeedsAPositiveLasting) {
  std::string error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"hang\"\n");
  EXPECT_NE(error.find("t.toml:2: key 'fault[1].lasting': missing"), std::string::npos) << error;

  error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"hang\"\nlasting = \"0s\"\n");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].lasting': must be longer than 0"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, UnknownAction) {
  std::string error = parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"reboot\"\n");
  EXPECT_NE(error.find("t.toml:4: key 'fault[1].action': unknown action \"reboot\"; expected kill, hang"),
            std::string::npos)
      << error;
}

TEST(ScenarioParseErrors, BadTimes) {
  auto at_error = [](std::string const& value) {
    return parse_error("name = \"x\"\n[[fault]]\naction = \"kill\"\nat = " + value + "\n");
  };
  for (std::string bad : {"\"12\"", "\"12x\"", "\"-1s\"", "\"1.5s\"", "\"12 s\"", "\"s\"", "\"%\"", "\"1.%\"",
                          "\"-5%\"", "\"\"", "\"99999999999999999999s\""}) {
    SCOPED_TRACE(bad);
    std::string error = at_error(bad);
    EXPECT_NE(error.find("t.toml:4: key 'fault[1].at': expected a duration like \"12s\", \"1500ms\" or \"40%\""),
              std::string::npos)
        << error;
  }
  std::string error = at_error("\"101%\"");
  EXPECT_NE(error.find("t.toml:4: key 'fault[1].at': a share of the run must be 0% to 100%, got \"101%\""),
            std::string::npos)
      << error;

  error = at_error("12");  // a bare integer: which unit? refused
  EXPECT_NE(error.find("t.toml:4: key 'fault[1].at': expected a duration"), std::string::npos) << error;
  EXPECT_NE(error.find("got an integer (12)"), std::string::npos) << error;

  EXPECT_EQ(parse_scenario("name = \"x\"\n[[fault]]\naction = \"kill\"\nat = \"100%\"\n", "t.toml")
                .faults[0].at.fraction, 1.0);
}

TEST(ScenarioParseErrors, BadDurations) {
  auto restart_error = [](std::string const& value) {
    return parse_error("name = \"x\"\n[[fault]]\naction = \"kill\"\nat = \"1s\"\nrestart_after = " + value + "\n");
  };
  for (std::string bad : {"\"12\"", "\"12x\"", "\"-1s\"", "\"40%\"", "2"}) {
    SCOPED_TRACE(bad);
    std::string error = restart_error(bad);
    EXPECT_NE(error.find("t.toml:5: key 'fault[1].restart_after': expected a duration like \"2s\" or \"1500ms\""),
              std::string::npos)
        << error;
  }
  EXPECT_NE(restart_error("\"40%\"").find("only works for 'at'"), std::string::npos);
}

TEST(ScenarioParseErrors, BadTargetsAndCounts) {
  auto with = [](std::string const& action, std::string const& line) {
    std::string extra = action == "hang" ? "lasting = \"1s\"\n" : "";
    return parse_error("name = \"x\"\n[[fault]]\nat = \"1s\"\naction = \"" + action + "\"\n" + extra + line + "\n");
  };
  std::string error = with("kill", "target = 0");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].target': server positions start at 1, got 0"), std::string::npos)
      << error;
  error = with("kill", "target = \"any\"");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].target': expected a server position (1, 2, ...) or \"random\""),
            std::string::npos)
      << error;
  error = with("hang", "target = 1.5");
  EXPECT_NE(error.find("t.toml:6: key 'fault[1].target': expected a server position"), std::string::npos) << error;
  error = with("scale-in", "count = 0");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].count': must be at least 1, got 0"), std::string::npos) << error;
  error = with("scale-out", "count = \"2\"");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].count': expected a whole number of servers, got \"2\""),
            std::string::npos)
      << error;
  error = with("kill", "note = 7");
  EXPECT_NE(error.find("t.toml:5: key 'fault[1].note': expected a string"), std::string::npos) << error;
}

TEST(ScenarioParseErrors, FaultMustBeAnArrayOfTables) {
  std::string error = parse_error("name = \"x\"\n\n[fault]\nat = \"1s\"\naction = \"kill\"\n");
  EXPECT_NE(error.find("t.toml:3: key 'fault': expected [[fault]] tables, got a table"), std::string::npos)
      << error;
  error = parse_error("name = \"x\"\nfault = [3]\n");
  EXPECT_NE(error.find("t.toml:2: key 'fault[1]': expected a table, got an integer"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------------------------
// Files and names

TEST(ScenarioFiles, LoadsAFileAndNamesItInErrors) {
  TempFile good(".toml", "name = \"from-file\"\n[[fault]]\nat = \"2s\"\naction = \"rolling-deploy\"\n");
  Scenario s = load_scenario_file(good.path());
  EXPECT_EQ(s.name, "from-file");
  EXPECT_EQ(find_scenario(good.path()).name, "from-file");  // a path: contains '/'

  TempFile bad(".toml", "name = \"x\"\n[[fault]]\nat = \"2x\"\naction = \"kill\"\n");
  std::string error = error_of([&] { (void)find_scenario(bad.path()); });
  EXPECT_EQ(error.rfind(bad.path() + ":3: key 'fault[1].at':", 0), 0u) << error;
}

TEST(ScenarioFiles, MissingFileIsAScenarioErrorNamingIt) {
  std::string path = (std::filesystem::temp_directory_path() / "outboard-no-such-scenario-file.toml").string();
  std::string error = error_of([&] { (void)load_scenario_file(path); });
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("no such scenario file"), std::string::npos) << error;

  // Ending in .toml without a '/' is a file too, not an unknown built-in.
  error = error_of([] { (void)find_scenario("outboard-no-such-scenario-file.toml"); });
  EXPECT_NE(error.find("outboard-no-such-scenario-file.toml: no such scenario file"), std::string::npos) << error;
}

TEST(ScenarioFiles, ADirectoryIsNotAScenarioFile) {
  std::string dir = std::filesystem::temp_directory_path().string();
  std::string error = error_of([&] { (void)load_scenario_file(dir); });
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
}

TEST(ScenarioFiles, UnknownBuiltinListsTheNames) {
  std::string error = error_of([] { (void)find_scenario("crsh"); });
  EXPECT_NE(error.find("unknown scenario 'crsh'; built-ins: crash-and-deploy, crash, hung-server, rolling-deploy, "
                       "scale, store-restart, everything, calm, chat, game, jobs, truth, redis-failover, postgres-restart, "
                       "store-partition (or give a path to a .toml file)"),
            std::string::npos)
      << error;
}

TEST(ScenarioFiles, FindsBuiltinsByName) {
  for (auto const& builtin : builtin_scenarios()) EXPECT_EQ(find_scenario(builtin.name).name, builtin.name);
}

// ---------------------------------------------------------------------------------------------
// check_scenario_fits

Scenario parsed(std::string const& faults) { return parse_scenario("name = \"x\"\n" + faults, "t.toml"); }

TEST(ScenarioFits, NeedsAServerAndADuration) {
  Scenario calm = find_scenario("calm");
  EXPECT_NE(fits_error(calm, 0, 20'000).find("need at least 1 server"), std::string::npos);
  EXPECT_NO_THROW(check_scenario_fits(calm, 1, 20'000, false));
  EXPECT_NE(fits_error(calm, 1, 0).find("must last longer than 0ms"), std::string::npos);
}

TEST(ScenarioFits, ScaleInBelowOneServer) {
  Scenario s = parsed(R"(
[[fault]]
at = "10%"
action = "scale-out"
[[fault]]
at = "20%"
action = "kill"
target = 2
[[fault]]
at = "30%"
action = "scale-in"
count = 3
)");
  // 3 servers, +1, -1 (kill without restart) = 3 left; scale-in 3 leaves none.
  std::string error = fits_error(s, 3, 20'000);
  EXPECT_NE(error.find("scenario 'x': fault 3 (scale-in 3) would leave 0 servers; at least 1 must stay"),
            std::string::npos)
      << error;
  EXPECT_NO_THROW(check_scenario_fits(s, 4, 20'000, true));

  error = fits_error(s, 1, 20'000);  // 1 +1 -1 = 1; scale-in 3 goes below zero
  EXPECT_NE(error.find("fault 3 (scale-in 3) would stop 3 servers but only 1 run then; at least 1 must stay"),
            std::string::npos)
      << error;
}

TEST(ScenarioFits, KillWithoutRestartCountsButWithRestartDoesNot) {
  Scenario plain = parsed("[[fault]]\nat = \"1s\"\naction = \"kill\"\n");
  EXPECT_NE(fits_error(plain, 1, 20'000).find("fault 1 (kill server 1) would leave 0 servers"), std::string::npos);
  EXPECT_NO_THROW(check_scenario_fits(plain, 2, 20'000, false));

  Scenario replaced = parsed("[[fault]]\nat = \"1s\"\naction = \"kill\"\nrestart_after = \"1s\"\n"
                             "[[fault]]\nat = \"5s\"\naction = \"kill\"\nrestart_after = \"0ms\"\n");
  EXPECT_NO_THROW(check_scenario_fits(replaced, 1, 20'000, false));
}

TEST(ScenarioFits, TargetBeyondTheServerCount) {
  Scenario s = parsed("[[fault]]\nat = \"1s\"\naction = \"hang\"\ntarget = 4\nlasting = \"1s\"\n");
  std::string error = fits_error(s, 3, 20'000);
  EXPECT_NE(error.find("scenario 'x': fault 1 (hang server 4) fires when 3 server(s) run; there is no server 4"),
            std::string::npos)
      << error;
  EXPECT_NO_THROW(check_scenario_fits(s, 4, 20'000, false));

  // The count is tracked in time order, not file order: the scale-out fires first.
  Scenario later = parsed("[[fault]]\nat = \"50%\"\naction = \"kill\"\ntarget = 4\n"
                          "[[fault]]\nat = \"2s\"\naction = \"scale-out\"\n");
  EXPECT_NO_THROW(check_scenario_fits(later, 3, 20'000, false));
  EXPECT_NE(fits_error(later, 3, 3'000).find("fault 1 (kill server 4) fires when 3 server(s) run"),
            std::string::npos);

  Scenario random = parsed("[[fault]]\nat = \"1s\"\naction = \"kill\"\ntarget = \"random\"\n");
  EXPECT_NO_THROW(check_scenario_fits(random, 2, 20'000, false));
}

TEST(ScenarioFits, FaultAfterTheEndOfTheRun) {
  Scenario s = parsed("[[fault]]\nat = \"1s\"\naction = \"rolling-deploy\"\n"
                      "[[fault]]\nat = \"30s\"\naction = \"scale-out\"\n");
  std::string error = fits_error(s, 3, 20'000);
  EXPECT_NE(error.find("scenario 'x': fault 2 (scale-out 1) fires at 30s but the run lasts 20s"), std::string::npos)
      << error;
  EXPECT_NO_THROW(check_scenario_fits(s, 3, 30'001, false));

  Scenario at_end = parsed("[[fault]]\nat = \"100%\"\naction = \"rolling-deploy\"\n");
  EXPECT_NE(fits_error(at_end, 3, 1'500).find("fires at 1500ms but the run lasts 1500ms"), std::string::npos);
}

TEST(ScenarioFits, RestartStoreWithSqlite) {
  Scenario s = parsed("[[fault]]\nat = \"5s\"\naction = \"rolling-deploy\"\n"
                      "[[fault]]\nat = \"1s\"\naction = \"restart-store\"\n");
  std::string error = fits_error(s, 2, 20'000, false);
  EXPECT_NE(error.find("scenario 'x': fault 2 (restart-store): the sqlite store is embedded in each server; "
                       "restart-store needs --store redis"),
            std::string::npos)
      << error;
  EXPECT_NO_THROW(check_scenario_fits(s, 2, 20'000, true));
}

}  // namespace
}  // namespace outboard::lab
