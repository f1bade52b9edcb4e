// serve's [jobs] and [[schedule]] settings (jobs/settings.hpp, which apps/outboard forwards to):
// read through core::Settings as serve reads them, and every refusal names file:line:key.
#include "jobs/settings.hpp"
#include "support/must.hpp"

#include <gtest/gtest.h>

namespace outboard::jobs {
namespace {

using testing::must;

struct Loaded {
  core::Settings settings{"serve"};
  JobsSettings values;
  Loaded() { declare_jobs(settings, values); }
};

JobsConfig load(std::string const& toml) {
  Loaded l;
  l.settings.load_toml_text(toml, "serve.toml");
  return to_jobs_config(l.values);
}

std::string refusal(std::string const& toml) {
  try {
    load(toml);
  } catch (core::ConfigError const& e) {
    return e.what();
  }
  return "accepted";
}

TEST(JobsSettings, DefaultsAreTheIssuesOnes) {
  auto c = load("");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.queue, QueueKind::store);
  EXPECT_TRUE(c.fencing);
  EXPECT_EQ(c.lease, core::Millis(5000));
  EXPECT_EQ(c.renew_interval(), core::Millis(1666));
  EXPECT_EQ(c.poll_interval, core::Millis(100));
  EXPECT_EQ(c.max_attempts, 5);
  EXPECT_EQ(c.backoff_base, core::Millis(200));
  EXPECT_EQ(c.backoff_max, core::Millis(30'000));
  EXPECT_EQ(c.concurrency_of("receipt"), 2);
  EXPECT_TRUE(c.schedules.empty());
}

TEST(JobsSettings, ReadsKeysConcurrencyAndSchedules) {
  auto c = load(R"(
[jobs]
queue = "memory"
fencing = false
lease_ms = 3000
renew_ms = 500
default_concurrency = 3

[jobs.concurrency]
receipt = 8

[[schedule]]
task = "expire-carts"
every = "30s"

[[schedule]]
task = "sales-summary"
cron = "*/5 * * * *"
missed = "catch-up"
)");
  EXPECT_EQ(c.queue, QueueKind::memory);
  EXPECT_FALSE(c.fencing);
  EXPECT_EQ(c.renew_interval(), core::Millis(500));
  EXPECT_EQ(c.concurrency_of("receipt"), 8);
  EXPECT_EQ(c.concurrency_of("tick"), 3);
  ASSERT_EQ(c.schedules.size(), 2u);
  EXPECT_EQ(c.schedules[0].task, "expire-carts");
  EXPECT_EQ(std::get<Every>(c.schedules[0].timing).period, core::Millis(30'000));
  EXPECT_EQ(c.schedules[0].missed, Missed::skip);
  EXPECT_EQ(c.schedules[1].missed, Missed::catch_up);
  EXPECT_EQ(std::get<CronExpr>(c.schedules[1].timing), must(parse_cron("*/5 * * * *")));
  EXPECT_EQ(c.schedules[1].task_where, "serve.toml:17: key 'schedule[1].task'");
}

TEST(JobsSettings, AMalformedScheduleNamesFileLineAndKey) {
  struct Case {
    char const* toml;
    char const* error;
  } cases[] = {
      {"[[schedule]]\ntask = \"a\"\ncron = \"61 * * * *\"\n",
       "serve.toml:3: key 'schedule[0].cron': minute: '61' is out of range 0-59"},
      {"[[schedule]]\ntask = \"a\"\nevery = \"0s\"\n", "serve.toml:3: key 'schedule[0].every': '0s' is zero"},
      {"[[schedule]]\ntask = \"a\"\nevery = \"-1m\"\n", "serve.toml:3: key 'schedule[0].every': '-1m' is negative"},
      {"[[schedule]]\ntask = \"a\"\nevery = \"soon\"\n", "serve.toml:3: key 'schedule[0].every': 'soon' does not start"},
      {"[[schedule]]\ntask = \"a\"\nevery = \"1m\"\ncron = \"* * * * *\"\n",
       "serve.toml:4: key 'schedule[0].cron': a schedule has `every` or `cron`, not both"},
      {"[[schedule]]\ntask = \"a\"\n", "serve.toml:1: key 'schedule[0]': a schedule needs `every`"},
      {"[[schedule]]\nevery = \"1m\"\n", "serve.toml:1: key 'schedule[0]': a schedule needs a task"},
      {"[[schedule]]\ntask = \"a\"\nevery = \"1m\"\nmissed = \"later\"\n",
       "serve.toml:4: key 'schedule[0].missed': 'later' is not skip or catch-up"},
      {"[[schedule]]\ntask = \"a\"\nevry = \"1m\"\n", "serve.toml:3: key 'schedule[0].evry': unknown key; did you mean 'every'?"},
      {"[[schedule]]\ntask = \"a\"\nevery = 30\n", "serve.toml:3: key 'schedule[0].every': expected a string, got an integer"},
      {"[[schedule]]\ntask = \"A B\"\nevery = \"1m\"\n", "serve.toml:2: key 'schedule[0].task': 'A B' is not a task name"},
      {"[[schedule]]\ntask = \"a\"\nevery = \"1m\"\n[[schedule]]\ntask = \"a\"\ncron = \"* * * * *\"\n",
       "serve.toml:5: key 'schedule[1].task': task 'a' is scheduled twice (first at serve.toml:2"},
      {"schedule = \"a\"\n", "serve.toml:1: key 'schedule': expected an array of tables ([[schedule]]), got a string"},
      {"[jobs.concurrency]\nreceipt = 0\n", "serve.toml:2: key 'jobs.concurrency.receipt': 0 is out of range 1..1024"},
      {"[jobs.concurrency]\nReceipt = 1\n", "serve.toml:2: key 'jobs.concurrency.Receipt': 'Receipt' is not a job type"},
      {"[jobs]\nqueue = \"disk\"\n", "serve.toml:2: key 'jobs.queue': 'disk' is not store"},
      {"[jobs]\nlease_ms = 1000\nrenew_ms = 1000\n", "jobs.renew_ms (1000) must be below jobs.lease_ms (1000)"},
  };
  for (auto const& c : cases) {
    auto error = refusal(c.toml);
    EXPECT_NE(error.find(c.error), std::string::npos) << c.toml << "\n  got: " << error;
  }
}

TEST(JobsSettings, AnUnknownTaskIsRefusedWhereItWasWritten) {
  auto c = load("[[schedule]]\ntask = \"expire-carts\"\nevery = \"1m\"\n\n[[schedule]]\ntask = \"sales-sumary\"\nevery = \"1h\"\n");
  EXPECT_NO_THROW(check_tasks(c, {"sales-summary", "expire-carts", "sales-sumary"}));
  try {
    check_tasks(c, {"expire-carts", "sales-summary"});
    FAIL() << "accepted";
  } catch (core::ConfigError const& e) {
    EXPECT_EQ(std::string(e.what()),
              "serve.toml:6: key 'schedule[1].task': unknown task 'sales-sumary' (known: expire-carts, sales-summary)");
  }
}

TEST(JobsSettings, SchedulesComeFromTheFileOnlyAndConcurrencyAlsoFromTheEnvironment) {
  Loaded l;
  EXPECT_THROW(l.settings.load_environment({{"OUTBOARD_SERVE_SCHEDULE", "x"}}), core::ConfigError);
  l.settings.load_environment({{"OUTBOARD_SERVE_JOBS_CONCURRENCY", "receipt=4,tick=1"}});
  EXPECT_EQ(l.values.concurrency.at("receipt"), 4);
  EXPECT_EQ(l.values.concurrency.at("tick"), 1);
  try {
    l.settings.load_environment({{"OUTBOARD_SERVE_JOBS_CONCURRENCY", "receipt=x"}});
    FAIL() << "accepted";
  } catch (core::ConfigError const& e) {
    EXPECT_NE(std::string(e.what()).find("environment OUTBOARD_SERVE_JOBS_CONCURRENCY: 'x' (receipt) is not an integer"),
              std::string::npos)
        << e.what();
  }
}

TEST(JobsSettings, TheEffectiveConfigurationShowsTablesAsToml) {
  Loaded l;
  l.settings.load_toml_text("[jobs.concurrency]\nreceipt = 4\n[[schedule]]\ntask = \"a\"\nevery = \"1m\"\n", "serve.toml");
  auto text = l.settings.effective_configuration();
  EXPECT_NE(text.find("jobs.concurrency = {\"receipt\" = 4}"), std::string::npos) << text;
  EXPECT_NE(text.find("schedule = [{every = \"1m\", task = \"a\"}]"), std::string::npos) << text;
}

}  // namespace
}  // namespace outboard::jobs
