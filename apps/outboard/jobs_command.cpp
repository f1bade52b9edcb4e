#include "jobs_command.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "jobs/tick.hpp"
#include "state/job_queue.hpp"
#include "state/store.hpp"
#include "state/store_url.hpp"

namespace outboard::app {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

struct JobsArgs {
  std::string action;  // counts, dead, retry, drop, ticks
  std::string store;   // the store URL the servers share
  std::string id;      // retry, drop
  std::string task;    // ticks
  std::size_t limit = 100;
  bool json_out = false;
};

// The store URL: from the flag, else OUTBOARD_JOBS_STORE. A password on argv is refused: any
// local user can read a process's arguments.
std::string store_url(JobsArgs const& args) {
  if (!args.store.empty()) {
    auto parsed = state::parse_store_url(args.store);
    if (parsed && !parsed->password.empty()) {
      throw core::ConfigError("flag --store: a store password on the command line is readable by every local user; "
                              "put the URL in the environment variable OUTBOARD_JOBS_STORE");
    }
    return args.store;
  }
  if (char const* env = std::getenv("OUTBOARD_JOBS_STORE"); env && *env) return env;
  throw core::ConfigError("no store: give --store URL (the servers' state URL) or set OUTBOARD_JOBS_STORE");
}

json job_json(state::JobInfo const& job) {
  return {{"id", job.id},           {"type", job.type},         {"key", job.key},
          {"state", state::to_string(job.state)}, {"attempts", job.attempts}, {"max_attempts", job.max_attempts},
          {"fence", job.fence},     {"last_error", job.last_error}, {"payload", job.payload}};
}

// nlohmann::json converts to almost anything, Error included: say which side of the Result.
core::Result<json> ok(json value) { return core::Result<json>(boost::system::in_place_value, std::move(value)); }

// Runs one operation against the store and queue, on an event loop of its own; prints its answer.
state::Async<json> operate(JobsArgs const& args, state::Store& store, state::JobQueue& queue) {
  if (args.action == "counts") {
    auto counts = co_await queue.counts();
    if (!counts) co_return counts.error();
    co_return ok(json{{"ready", counts->ready}, {"delayed", counts->delayed}, {"running", counts->running},
                   {"dead", counts->dead}});
  }
  if (args.action == "dead") {
    auto dead = co_await queue.dead_letters(args.limit);
    if (!dead) co_return dead.error();
    json list = json::array();
    for (auto const& job : *dead) list.push_back(job_json(job));
    co_return ok(json{{"dead", std::move(list)}});
  }
  if (args.action == "retry" || args.action == "drop") {
    std::string id = args.id;
    auto done = args.action == "retry" ? co_await queue.retry_dead(std::move(id)) : co_await queue.drop_dead(std::move(id));
    if (!done) co_return done.error();
    if (!*done) co_return core::make_error(core::Errc::not_found, "no dead job '" + args.id + "'");
    co_return ok(json{{args.action == "retry" ? "retried" : "dropped", args.id}});
  }
  // ticks: the task's append-only log, one entry per run of a tick (docs/JOBS.md)
  auto log = co_await store.list_range(jobs::tick_log_key(args.task));
  if (!log) co_return log.error();
  json list = json::array();
  for (auto const& text : *log) {
    auto run = json::parse(text, nullptr, false);
    if (run.is_object()) list.push_back(std::move(run));
  }
  co_return ok(json{{"task", args.task}, {"runs", std::move(list)}});
}

void print_text(JobsArgs const& args, json const& answer) {
  if (args.action == "counts") {
    for (auto const& [name, n] : answer.items()) std::cout << name << " " << n << "\n";
  } else if (args.action == "dead") {
    for (auto const& job : answer["dead"]) {
      std::cout << job["id"].get<std::string>() << "  attempts " << job["attempts"] << "  " << job["last_error"].get<std::string>()
                << "\n";
    }
  } else if (args.action == "ticks") {
    for (auto const& run : answer["runs"]) {
      std::cout << run["instant_ms"] << "  " << run["instance"].get<std::string>() << "  fence " << run["fence"] << "\n";
    }
  } else {
    std::cout << answer.dump() << "\n";
  }
}

int run_jobs(JobsArgs const& args) {
  if ((args.action == "retry" || args.action == "drop") && args.id.empty()) {
    throw core::ConfigError("jobs " + args.action + ": give the job's id (from `outboard jobs dead`)");
  }
  if (args.action == "ticks" && args.task.empty()) throw core::ConfigError("jobs ticks: give --task NAME");
  std::string url = store_url(args);
  core::SystemClock clock;
  state::StoreOptions options;
  options.clock = &clock;
  std::unique_ptr<state::StoreProvider> stores;
  std::unique_ptr<state::JobQueueProvider> queues;
  try {
    stores = state::open_store(url, options);
    queues = state::open_job_queue(url, *stores, options, state::JobQueueOptions{});
  } catch (std::invalid_argument const& e) {
    throw core::ConfigError(std::string("flag --store: ") + e.what());
  }
  asio::io_context io;
  auto store = stores->store_for(io.get_executor());
  auto queue = queues->queue_for(io.get_executor());
  auto answer_future = asio::co_spawn(io, operate(args, *store, *queue), asio::use_future);
  // Until the answer is in, not until the loop is empty: a redis connection keeps a reader running.
  while (answer_future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one_for(std::chrono::milliseconds(50)) == 0) io.restart();
  }
  auto answer = answer_future.get();
  if (!answer) {
    std::cerr << "outboard jobs " << args.action << ": " << answer.error().describe() << "\n";
    return answer.error().code == core::Errc::not_found ? 3 : 1;
  }
  if (args.json_out) {
    std::cout << answer->dump() << "\n";
  } else {
    print_text(args, *answer);
  }
  return 0;
}

}  // namespace

std::function<int()> add_jobs_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("jobs", "operate the job queue the servers share: counts, dead letters, ticks");
  auto args = std::make_shared<JobsArgs>();
  cmd->add_option("action", args->action, "counts | dead | retry ID | drop ID | ticks --task NAME")
      ->required()
      ->check(CLI::IsMember({"counts", "dead", "retry", "drop", "ticks"}));
  cmd->add_option("id", args->id, "the job's id (retry, drop)");
  cmd->add_option("--store", args->store,
                  "the servers' state URL (sqlite:///path.db, redis://host:port); a URL with a password goes in "
                  "OUTBOARD_JOBS_STORE instead");
  cmd->add_option("--task", args->task, "the scheduled task whose tick log to print (ticks)");
  cmd->add_option("--limit", args->limit, "at most this many dead letters (dead)")->check(CLI::Range(1, 100000));
  cmd->add_flag("--json", args->json_out, "print JSON");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return 0;
    return run_jobs(*args);
  };
}

}  // namespace outboard::app
