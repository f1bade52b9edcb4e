// Background jobs across real `outboard serve` processes on one store, a sqlite file or a private
// redis-server (docs/JOBS.md):
//   - a worker killed with -9 mid-job: another instance claims the job after its lease and the
//     receipt is delivered exactly once;
//   - a worker stopped (SIGSTOP) past its lease while rendering: another instance delivers the
//     receipt; when the stopped one wakes, its commit is refused by the fence (counted in its
//     /metrics) and the receipt is still delivered once. With fencing off (the `locked` design)
//     the same sequence delivers it twice: the test of our rule can fail;
//   - two instances with the same schedule run each tick once, and the ticks go on when the
//     instance that ran the last one is killed;
//   - `outboard jobs` lists, retries and drops dead letters; a malformed schedule stops start-up
//     naming the file, line and key.
// Events are waited for by polling a bounded number of times, never by sleeping a fixed time.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/stop_outside_a_write.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Polls `done` up to `tries` times, 50 ms apart: the wait is for an event, bounded in count.
template <class F>
bool eventually(F done, int tries = 400) {
  for (int i = 0; i < tries; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// A family's value summed over its labels (per job type, per task).
double family_total(ServeProcess const& serve, std::string const& name) {
  HttpClient c(serve.port());
  auto res = c.get("/metrics");
  double sum = 0;
  for (auto const& [series, value] : prometheus_samples(res.body)) {
    if (series == name || series.starts_with(name + "{")) sum += value;
  }
  return sum;
}

class ServeJobs : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") {
      redis_ = std::make_unique<RedisServer>();
      state_ = redis_->url();
    } else {
      state_ = "sqlite://" + (dir_ / "state.db").string();
    }
  }

  // The sqlite file a stopped server may hold the write lock of (none for redis).
  std::optional<std::filesystem::path> sqlite_file() const {
    if (GetParam() == "redis") return std::nullopt;
    return dir_ / "state.db";
  }

  // A config file with [jobs] and the shop's receipt rendering time; `extra` appended as is.
  std::string config(std::string const& name, std::string const& extra) {
    auto path = dir_ / (name + ".toml");
    std::ofstream(path) << "[jobs]\nlease_ms = 400\npoll_interval_ms = 20\n" << extra;
    return path.string();
  }

  std::unique_ptr<ServeProcess> start(std::string const& name, std::string const& config_file) {
    ServeOptions o;
    o.name = name;
    o.state = state_;
    o.blobs = "file://" + (dir_ / "blobs").string();
    o.session_keys = keys_;
    o.extra_args = {"--config", config_file};
    return std::make_unique<ServeProcess>(o);
  }

  // Signs up and logs in through `serve`, adds a line and checks out: the order's id.
  std::string place_order(ServeProcess const& serve, HttpClient& c) {
    EXPECT_EQ(c.post("/signup", credentials_json("ada", kPassword)).status, 201);
    EXPECT_EQ(c.post("/login", credentials_json("ada", kPassword)).status, 200);
    auto line = c.request("POST", "/cart/items", json{{"sku", "sku-001"}, {"qty", 2}}.dump(), {{"Idempotency-Key", "line-1"}});
    EXPECT_EQ(line.status, 201) << line.body;
    auto order = c.request("POST", "/checkout", "", {{"Idempotency-Key", "order-1"}});
    EXPECT_EQ(order.status, 201) << order.body << "\n" << serve.log();
    return order.json()["order"].value("order_id", "");
  }

  // GET /orders/{id} through `serve`: its "receipt" object.
  static json receipt(HttpClient& c, ServeProcess const& serve, std::string const& order) {
    auto res = c.request_to(serve.port(), "GET", "/orders/" + order, "", {});
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json().value("receipt", json::object());
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::string state_;
  std::vector<std::string> keys_{make_session_key()};
};

TEST_P(ServeJobs, AJobWhoseWorkerWasKilledCompletesOnAnotherInstanceExactlyOnce) {
  // A renders slowly, so it is surely mid-job when killed; B renders at once.
  auto a = start("A", config("a", "[shop]\nreceipt_render_ms = 60000\n"));
  HttpClient c(a->port());
  std::string order = place_order(*a, c);
  ASSERT_TRUE(eventually([&] { return family_total(*a, "outboard_jobs_in_flight") == 1; })) << a->log();
  a->signal(SIGKILL);
  a->wait_exit(10'000);
  auto b = start("B", config("b", ""));
  json r;
  ASSERT_TRUE(eventually([&] {
    r = receipt(c, *b, order);
    return r.value("state", "") == "sent" && r["job"].is_object() && r["job"].value("state", "") == "done";
  })) << r.dump() << "\n" << b->log();
  EXPECT_EQ(r.value("deliveries", 0), 1) << r.dump();
  EXPECT_EQ(r["job"].value("attempts", 0), 2) << r.dump();  // A's claim, then B's after the lease
  EXPECT_EQ(r["fences"], json::array({2})) << r.dump();
}

// A claims the receipt and renders for 1.5 s; it is stopped at once, past its 400 ms lease; B
// claims and delivers (fence 2); then A wakes, finishes rendering and tries to commit with fence 1.
struct PausedOutcome {
  json receipt;
  double refused = 0;  // A's outboard_jobs_fenced_writes_refused_total
};

class ServeJobsPaused : public ServeJobs {
 protected:
  PausedOutcome run(bool fencing) {
    std::string fence_line = fencing ? "" : "fencing = false\n";
    auto a = start("A", config("a", fence_line + "[shop]\nreceipt_render_ms = 1500\n"));
    HttpClient c(a->port());
    std::string order = place_order(*a, c);
    EXPECT_TRUE(eventually([&] { return family_total(*a, "outboard_jobs_in_flight") == 1; })) << a->log();
    EXPECT_TRUE(stop_outside_a_write(*a, sqlite_file()));
    auto b = start("B", config("b", fence_line));
    PausedOutcome out;
    EXPECT_TRUE(eventually([&] {
      out.receipt = receipt(c, *b, order);
      return out.receipt.value("state", "") == "sent";
    })) << out.receipt.dump() << "\n" << b->log();
    a->signal(SIGCONT);
    // A's job ends one way or the other: no longer in flight.
    EXPECT_TRUE(eventually([&] { return family_total(*a, "outboard_jobs_in_flight") == 0; })) << a->log();
    out.refused = family_total(*a, "outboard_jobs_fenced_writes_refused_total");
    out.receipt = receipt(c, *b, order);
    return out;
  }
};

TEST_P(ServeJobsPaused, APausedWorkerThatLostItsLeaseCannotCommit) {
  auto out = run(true);
  EXPECT_EQ(out.refused, 1);
  EXPECT_EQ(out.receipt.value("deliveries", 0), 1) << out.receipt.dump();
  EXPECT_EQ(out.receipt["fences"], json::array({2})) << out.receipt.dump();
}

TEST_P(ServeJobsPaused, WithoutFencingThePausedWorkersLateWriteIsAccepted) {
  auto out = run(false);
  EXPECT_EQ(out.refused, 0);
  EXPECT_EQ(out.receipt.value("deliveries", 0), 2) << out.receipt.dump();  // the locked design's failure
}

// The tick log through `outboard jobs ticks`: runs per instant.
std::map<std::int64_t, std::vector<json>> ticks(std::string const& state) {
  auto r = run_outboard({"jobs", "ticks", "--store", state, "--task", "sales-summary", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::int64_t, std::vector<json>> by_instant;
  auto doc = json::parse(r.output, nullptr, false);
  if (!doc.is_object()) return by_instant;
  for (auto const& run : doc["runs"]) by_instant[run.value("instant_ms", std::int64_t{0})].push_back(run);
  return by_instant;
}

TEST_P(ServeJobs, TwoInstancesRunEachTickOnceAndTheScheduleSurvivesTheDeathOfItsLastRunner) {
  std::string schedule = "[[schedule]]\ntask = \"sales-summary\"\nevery = \"200ms\"\n";
  auto a = start("A", config("a", schedule));
  auto b = start("B", config("b", schedule));
  std::string const& state = state_;
  std::map<std::int64_t, std::vector<json>> log;
  ASSERT_TRUE(eventually([&] { return (log = ticks(state)).size() >= 4; }));
  // Kill whichever ran the latest tick; the other goes on alone.
  std::string last_runner = log.rbegin()->second.front().value("instance", "");
  auto& victim = last_runner == a->instance() ? a : b;
  auto& survivor = last_runner == a->instance() ? b : a;
  ASSERT_TRUE(last_runner == a->instance() || last_runner == b->instance()) << last_runner;
  std::int64_t killed_after = log.rbegin()->first;
  victim->signal(SIGKILL);
  victim->wait_exit(10'000);
  ASSERT_TRUE(eventually([&] {
    log = ticks(state);
    int later = 0;
    for (auto const& [instant, runs] : log) {
      for (auto const& run : runs) later += instant > killed_after && run.value("instance", "") == survivor->instance();
    }
    return later >= 3;
  }));
  for (auto const& [instant, runs] : log) EXPECT_EQ(runs.size(), 1u) << "tick " << instant << " ran " << runs.size() << " times";
}

TEST(ServeJobsConfig, AMalformedScheduleStopsStartUpNamingFileLineAndKey) {
  TempDir dir;
  auto config = [&](std::string const& name, std::string const& extra) {
    auto path = dir / (name + ".toml");
    std::ofstream(path) << "[jobs]\nlease_ms = 400\npoll_interval_ms = 20\n" << extra;
    return path.string();
  };
  std::string file = config("bad", "[[schedule]]\ntask = \"sales-summary\"\ncron = \"61 * * * *\"\n");
  auto r = run_outboard({"serve", "--check", "--config", file, "--state", "memory://"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.toml:6"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cron"), std::string::npos) << r.output;
  std::string unknown = config("unknown", "[[schedule]]\ntask = \"send-spam\"\nevery = \"1m\"\n");
  r = run_outboard({"serve", "--check", "--config", unknown, "--state", "memory://"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown.toml:5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("send-spam"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Stores, ServeJobs, ::testing::Values("sqlite", "redis"));
INSTANTIATE_TEST_SUITE_P(Stores, ServeJobsPaused, ::testing::Values("sqlite", "redis"));

}  // namespace
}  // namespace outboard::testing
