// `outboard jobs` against a real sqlite store: the dead-letter list shown, a dead job retried
// (claimable again, attempts reset) and dropped (gone; dropping it again exits 3); a store
// password on argv is refused (exit 2), the environment variable is the way.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>

#include "core/clock.hpp"
#include "state/job_queue.hpp"
#include "support/run_coro.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

using nlohmann::json;

class JobsCommand : public ::testing::Test {
 protected:
  JobsCommand() {
    options_.clock = &clock_;
    stores_ = state::open_store(url_, options_);
    queues_ = state::open_job_queue(url_, *stores_, options_, state::JobQueueOptions{});
    queue_ = queues_->queue_for(io_.get_executor());
  }
  ~JobsCommand() override {
    queue_.reset();
    io_.restart();
    io_.run_for(std::chrono::milliseconds(100));
  }

  // A job whose one attempt failed for good: on the dead-letter list.
  std::string make_dead(std::string const& key) {
    state::JobSpec spec{"receipt", key, "not json", core::Millis{0}, 1};
    auto queued = run_coro(io_, queue_->enqueue(spec));
    EXPECT_TRUE(queued.has_value());
    auto claim = run_coro(io_, queue_->claim({"receipt"}, "test", core::Millis{10'000}));
    EXPECT_TRUE(claim && *claim);
    auto failed = run_coro(io_, queue_->fail((*claim)->id, (*claim)->fence, "payload is not JSON", std::nullopt));
    EXPECT_TRUE(failed && *failed);
    return queued->id;
  }

  json jobs(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), "jobs");
    args.insert(args.end(), {"--store", url_, "--json"});
    auto r = run_outboard(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.output;
    return json::parse(r.output, nullptr, false);
  }

  TempDir dir_;
  std::string url_ = "sqlite://" + (dir_ / "state.db").string();
  core::SystemClock clock_;
  state::StoreOptions options_;
  std::unique_ptr<state::StoreProvider> stores_;
  std::unique_ptr<state::JobQueueProvider> queues_;
  boost::asio::io_context io_;
  std::shared_ptr<state::JobQueue> queue_;
};

TEST_F(JobsCommand, ListsRetriesAndDropsDeadLetters) {
  std::string id = make_dead("ada/o-1");
  json dead = jobs({"dead"});
  ASSERT_TRUE(dead.is_object());
  ASSERT_EQ(dead["dead"].size(), 1u) << dead.dump();
  EXPECT_EQ(dead["dead"][0].value("id", ""), id);
  EXPECT_EQ(dead["dead"][0].value("last_error", ""), "payload is not JSON");

  EXPECT_EQ(jobs({"retry", id}).value("retried", ""), id);
  json counts = jobs({"counts"});
  EXPECT_EQ(counts.value("ready", -1), 1) << counts.dump();
  EXPECT_EQ(counts.value("dead", -1), 0) << counts.dump();
  auto info = run_coro(io_, queue_->get(id));
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->state, state::JobState::waiting);
  EXPECT_EQ((*info)->attempts, 0);

  std::string again = make_dead("ada/o-1");  // the retried job fails again
  EXPECT_EQ(again, id);
  EXPECT_EQ(jobs({"drop", id}).value("dropped", ""), id);
  EXPECT_TRUE(jobs({"dead"})["dead"].empty());
  jobs({"drop", id}, 3);  // no such dead job any more
}

TEST_F(JobsCommand, AStorePasswordOnArgvIsRefused) {
  auto r = run_outboard({"jobs", "counts", "--store", "redis://:hunter2@127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("OUTBOARD_JOBS_STORE"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace outboard::testing
