#pragma once
// The job queue's cases (state/job_queue.hpp), written once and run by
// job_queue_conformance_test.cpp (memory, sqlite) and job_queue_redistest.cpp (redis).
//
// Time: memory and sqlite run on the ManualClock given in StoreOptions, which travel() advances.
// Redis keeps time itself (its TIME, inside the scripts), so the cases that call travel() are
// marked TRAVELS below and run on the manual-clock backends only; redis proves the same rules
// with tiny leases and polling in its own file. Every other case runs on all three.
//
// Ties: jobs due at the same millisecond are claimed, and dead jobs listed, in id order
// (bytewise), as a Redis sorted set orders equal scores. Cases that need an order without
// travel() rely on that.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "state/job_queue.hpp"
#include "state/job_spec.hpp"
#include "state/store.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/store_engines.hpp"
#include "support/temp_dir.hpp"

namespace outboard::state::job_testing {

using namespace std::chrono_literals;

// Redis keeps time itself: its cases use a tiny lease and wait for its end by polling the queue,
// a count of round trips that bounds a hang (many seconds), never the time waited for.
constexpr Millis kTinyLease{50};
constexpr Millis kLongLease{60'000};
constexpr int kMaxPolls = 200'000;

// One backend's queue, with the data store it writes fences to. `backend` is "memory", "sqlite",
// "redis", "redis_cluster" or "postgres"; for redis, the harness starts a private redis-server
// unless given a URL; the cluster and PostgreSQL are the process's shared engines, emptied.
class JobQueueHarness {
 protected:
  explicit JobQueueHarness(std::string backend, std::string redis_url = {})
      : backend_(std::move(backend)), engine_url_(std::move(redis_url)) {
    store_options_.clock = &clock_;
    if (backend_ == "redis" && engine_url_.empty()) {
      redis_ = std::make_unique<testing::RedisServer>();
      engine_url_ = redis_->url(3);
    }
    if (backend_ == "redis_cluster") engine_url_ = testing::fresh_redis_cluster_url();
    if (backend_ == "postgres") engine_url_ = testing::fresh_postgres_url();
  }
  virtual ~JobQueueHarness() = default;

  std::string url() const {
    if (backend_ == "memory") return "memory://";
    if (backend_ == "sqlite") return "sqlite://" + (dir_ / "jobs.db").string();
    return engine_url_;
  }
  // Redis and PostgreSQL keep their own clocks (leases and delays run on the engine's time).
  bool manual_clock() const { return backend_ == "memory" || backend_ == "sqlite"; }

  // Opens the store and its queue; queue_ and store_ are this thread's.
  void open(JobQueueOptions options = {}) {
    queue_options_ = options;
    store_provider_ = open_store(url(), store_options_);
    queue_provider_ = open_job_queue(url(), *store_provider_, store_options_, options);
    store_ = store_provider_->store_for(io_.get_executor());
    queue_ = queue_provider_->queue_for(io_.get_executor());
  }

  // Lets `by` pass on the queue's clock. TRAVELS: manual-clock backends only.
  void travel(Millis by) {
    ASSERT_TRUE(manual_clock()) << "a case that travels in time ran on " << backend_;
    clock_.advance(by);
  }

  template <class T>
  T run(boost::asio::awaitable<Result<T>> op) {
    auto r = testing::run_coro(io_, std::move(op));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return r.has_value() ? std::move(*r) : T{};
    }
  }

  static JobSpec spec(std::string type, std::string key, std::string payload = "{}", Millis delay = 0ms,
                      int max_attempts = 5) {
    JobSpec s;
    s.type = std::move(type);
    s.key = std::move(key);
    s.payload = std::move(payload);
    s.delay = delay;
    s.max_attempts = max_attempts;
    return s;
  }
  Enqueued enqueue(JobSpec s) { return run(queue_->enqueue(std::move(s))); }
  Enqueued enqueue(std::string type, std::string key, Millis delay = 0ms, int max_attempts = 5) {
    return enqueue(spec(std::move(type), std::move(key), "{}", delay, max_attempts));
  }
  std::optional<Claim> claim(std::vector<std::string> types, std::string worker = "w1", Millis lease = 30'000ms) {
    return run(queue_->claim(std::move(types), std::move(worker), lease));
  }
  // The id of what a claim returned, "" for nothing: keeps expectations on one line.
  std::string claimed_id(std::vector<std::string> types, std::string worker = "w1", Millis lease = 30'000ms) {
    auto c = claim(std::move(types), std::move(worker), lease);
    return c ? c->id : std::string();
  }
  bool renew(std::string const& id, std::int64_t fence, Millis lease = 30'000ms) {
    return run(queue_->renew(id, fence, lease));
  }
  bool complete(std::string const& id, std::int64_t fence) { return run(queue_->complete(id, fence)); }
  bool fail(std::string const& id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) {
    return run(queue_->fail(id, fence, std::move(error), retry_in));
  }
  std::optional<JobInfo> get(std::string const& id) { return run(queue_->get(id)); }
  JobState state_of(std::string const& id) {
    auto info = get(id);
    EXPECT_TRUE(info.has_value()) << "no job " << id;
    return info ? info->state : JobState::waiting;
  }
  JobCounts counts() { return run(queue_->counts()); }
  std::vector<std::string> dead_ids(std::size_t limit = 100) {
    std::vector<std::string> ids;
    for (auto const& info : run(queue_->dead_letters(limit))) ids.push_back(info.id);
    return ids;
  }
  std::optional<std::string> fence_in_store(std::string const& id) { return run(store_->get(fence_key(id))); }
  // A handler's fenced commit: what the fence is for.
  bool commit_fenced(std::string const& id, std::int64_t fence, std::string const& effect_key) {
    // On a cluster a handler's effect keys share the fence key's {tag}: one slot, one script.
    std::string key = backend_ == "redis_cluster" ? fence_key(id) + ":" + effect_key : effect_key;
    return run(store_->commit_if({Condition::equals(fence_key(id), std::to_string(fence))},
                                 {Write::set(key, std::to_string(fence))}));
  }
  void expect_invalid(JobSpec s, std::string const& why) {
    auto r = testing::run_coro(io_, queue_->enqueue(std::move(s)));
    ASSERT_FALSE(r.has_value()) << why << ": accepted";
    EXPECT_EQ(r.error().code, Errc::invalid) << why << ": " << r.error().describe();
    EXPECT_FALSE(r.error().context.empty()) << why << ": no reason given";
  }

  // --- the cases ---

  void enqueue_dedupes_by_type_and_key() {
    open();
    Enqueued first = run(queue_->enqueue(spec("receipt", "o-1", "first")));
    EXPECT_EQ(first.id, job_id("receipt", "o-1"));
    EXPECT_EQ(first.id, "receipt:o-1");
    EXPECT_FALSE(first.duplicate);
    Enqueued again = run(queue_->enqueue(spec("receipt", "o-1", "second", 5000ms, 1)));
    EXPECT_EQ(again.id, first.id);
    EXPECT_TRUE(again.duplicate);
    auto info = get(first.id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->payload, "first");  // a duplicate changes nothing
    EXPECT_EQ(info->max_attempts, 5);
    EXPECT_EQ(info->state, JobState::waiting);
    EXPECT_EQ(info->type, "receipt");
    EXPECT_EQ(info->key, "o-1");
    EXPECT_EQ(info->attempts, 0);
    EXPECT_EQ(info->fence, 0);
    // The same key under another type is another job.
    Enqueued other = enqueue("summary", "o-1");
    EXPECT_FALSE(other.duplicate);
    EXPECT_EQ(other.id, "summary:o-1");
    EXPECT_EQ(counts().ready, 2);
    EXPECT_EQ(get("receipt:nope"), std::nullopt);
    // Still a duplicate while running, and the claim is of the first spec.
    auto c = claim({"receipt"});
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->payload, "first");
    EXPECT_TRUE(enqueue("receipt", "o-1").duplicate);
    // And once done (within done_ttl).
    EXPECT_TRUE(complete(c->id, c->fence));
    EXPECT_TRUE(enqueue("receipt", "o-1").duplicate);
    EXPECT_EQ(state_of(c->id), JobState::done);
  }

  void claim_sets_the_fence_and_writes_the_fence_key() {
    open();
    // Bytes a backend's own encoding might trip on, in the key and the payload.
    std::string key("o:{1}\r\n", 7);
    std::string payload("{\"a\":1}\0\xff", 9);
    ASSERT_FALSE(run(queue_->enqueue(spec("receipt", key, payload, 0ms, 3))).duplicate);
    std::string const id = job_id("receipt", key);
    EXPECT_EQ(fence_in_store(id), std::nullopt);
    auto c = claim({"receipt"}, "worker-a", 60'000ms);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->id, id);
    EXPECT_EQ(c->type, "receipt");
    EXPECT_EQ(c->key, key);
    EXPECT_EQ(c->payload, payload);
    EXPECT_EQ(c->fence, 1);
    EXPECT_EQ(c->attempt, 1);
    EXPECT_EQ(c->max_attempts, 3);
    EXPECT_EQ(c->last_error, "");
    EXPECT_EQ(fence_in_store(id), "1");
    auto info = get(id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::running);
    EXPECT_EQ(info->worker, "worker-a");
    EXPECT_EQ(info->attempts, 1);
    EXPECT_EQ(info->fence, 1);
    EXPECT_GT(info->lease_until_ms, 0);
    // Its lease is live: nobody else gets it.
    EXPECT_EQ(claim({"receipt"}, "worker-b"), std::nullopt);
    EXPECT_EQ(counts().running, 1);
    // The handler's fenced commit goes through with this claim's fence only.
    EXPECT_FALSE(commit_fenced(id, 2, "effect"));
    EXPECT_TRUE(commit_fenced(id, 1, "effect"));
  }

  void a_stale_fence_is_refused() {
    open();
    enqueue("t", "k");
    auto c = claim({"t"});
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(renew(c->id, c->fence + 1));
    EXPECT_FALSE(complete(c->id, 0));
    EXPECT_FALSE(fail(c->id, c->fence + 1, "no", std::nullopt));
    EXPECT_FALSE(complete("t:unknown", 1));
    EXPECT_FALSE(renew("t:unknown", 1));
    EXPECT_FALSE(fail("t:unknown", 1, "no", 0ms));
    EXPECT_EQ(state_of(c->id), JobState::running);  // none of the refusals changed anything
    EXPECT_TRUE(renew(c->id, c->fence));
    EXPECT_TRUE(complete(c->id, c->fence));
    // Done: its latest claim is no longer running, so nothing more is accepted.
    EXPECT_FALSE(complete(c->id, c->fence));
    EXPECT_FALSE(renew(c->id, c->fence));
    EXPECT_FALSE(fail(c->id, c->fence, "late", 0ms));
    EXPECT_EQ(state_of(c->id), JobState::done);
    EXPECT_EQ(claim({"t"}), std::nullopt);
  }

  void types_filter_the_claim() {
    open();
    enqueue("a", "1");
    enqueue("b", "1");
    EXPECT_EQ(claimed_id({"c"}), "");
    EXPECT_EQ(claimed_id({}), "");
    EXPECT_EQ(claimed_id({"b"}), "b:1");
    EXPECT_EQ(claimed_id({"c", "a"}), "a:1");
    EXPECT_EQ(claimed_id({"a", "b", "c"}), "");
  }

  void invalid_specs_are_refused() {
    JobQueueOptions options;
    options.max_payload_bytes = 16;
    open(options);
    expect_invalid(spec("", "k"), "empty type");
    expect_invalid(spec("Receipt", "k"), "upper case in the type");
    expect_invalid(spec("a b", "k"), "space in the type");
    expect_invalid(spec("a:b", "k"), "':' in the type");
    expect_invalid(spec(std::string(65, 'a'), "k"), "type of 65 bytes");
    expect_invalid(spec("t", ""), "empty key");
    expect_invalid(spec("t", std::string(201, 'k')), "key of 201 bytes");
    expect_invalid(spec("t", "k", std::string(17, 'p')), "payload over max_payload_bytes");
    expect_invalid(spec("t", "k", "{}", 0ms, 0), "max_attempts 0");
    expect_invalid(spec("t", "k", "{}", -1ms), "negative delay");
    expect_invalid(spec("t", "k", "{}", kMaxJobDelay + 1ms), "delay over 366 days");
    JobCounts none = counts();
    EXPECT_EQ(none.ready + none.delayed + none.running + none.dead, 0);
    // The limits themselves are allowed.
    EXPECT_FALSE(enqueue(spec("a-z_0-9", std::string(200, 'k'), std::string(16, 'p'), 0ms, 1)).duplicate);
    EXPECT_FALSE(enqueue(spec(std::string(64, 't'), "k", "")).duplicate);
    EXPECT_EQ(counts().ready, 2);
  }

  void exhausted_attempts_go_to_the_dead_letters() {
    open();
    enqueue("t", "poison", 0ms, 2);
    auto first = claim({"t"});
    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE(fail(first->id, first->fence, "first error", 0ms));  // retry at once
    EXPECT_EQ(state_of(first->id), JobState::waiting);
    auto second = claim({"t"});
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->attempt, 2);
    EXPECT_EQ(second->fence, 2);
    EXPECT_EQ(second->last_error, "first error");
    ASSERT_TRUE(fail(second->id, second->fence, "second error", 0ms));
    auto info = get(second->id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::dead);
    EXPECT_EQ(info->last_error, "second error");
    EXPECT_EQ(info->attempts, 2);
    EXPECT_EQ(claim({"t"}), std::nullopt);
    EXPECT_EQ(dead_ids(), (std::vector<std::string>{"t:poison"}));
    EXPECT_EQ(counts().dead, 1);
    EXPECT_TRUE(enqueue("t", "poison").duplicate);  // dead is still the same job
  }

  void fail_without_retry_is_dead_at_once() {
    open();
    enqueue("t", "bad-payload", 0ms, 5);
    auto c = claim({"t"});
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(fail(c->id, c->fence, "cannot parse payload", std::nullopt));
    auto info = get(c->id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::dead);
    EXPECT_EQ(info->attempts, 1);
    EXPECT_EQ(info->last_error, "cannot parse payload");
    EXPECT_EQ(claim({"t"}), std::nullopt);
    auto dead = run(queue_->dead_letters(10));
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].id, c->id);
    EXPECT_EQ(dead[0].last_error, "cannot parse payload");
  }

  void dead_letters_can_be_retried_and_dropped() {
    open();
    for (char const* key : {"a", "b", "c"}) {
      enqueue("t", key, 0ms, 1);
      auto c = claim({"t"});
      ASSERT_TRUE(c.has_value());
      ASSERT_EQ(c->key, key);
      ASSERT_TRUE(fail(c->id, c->fence, std::string("died ") + key, std::nullopt));
    }
    EXPECT_EQ(dead_ids(), (std::vector<std::string>{"t:a", "t:b", "t:c"}));
    EXPECT_EQ(dead_ids(2), (std::vector<std::string>{"t:a", "t:b"}));
    EXPECT_EQ(counts().dead, 3);

    EXPECT_TRUE(run(queue_->retry_dead("t:b")));
    EXPECT_FALSE(run(queue_->retry_dead("t:b")));  // no longer dead
    EXPECT_FALSE(run(queue_->retry_dead("t:nope")));
    auto info = get("t:b");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::waiting);
    EXPECT_EQ(info->attempts, 0);
    auto again = claim({"t"});  // claimable at once
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->id, "t:b");
    EXPECT_EQ(again->attempt, 1);
    EXPECT_EQ(again->fence, 2);  // the fence only grows
    EXPECT_EQ(fence_in_store("t:b"), "2");
    EXPECT_FALSE(run(queue_->drop_dead("t:b")));  // running, not dead
    EXPECT_TRUE(complete("t:b", again->fence));

    EXPECT_TRUE(run(queue_->drop_dead("t:c")));
    EXPECT_FALSE(run(queue_->drop_dead("t:c")));
    EXPECT_EQ(get("t:c"), std::nullopt);
    EXPECT_EQ(dead_ids(), (std::vector<std::string>{"t:a"}));
    EXPECT_FALSE(enqueue("t", "c").duplicate);  // forgotten: a new job
    EXPECT_TRUE(enqueue("t", "a").duplicate);   // still dead: the same job
    JobCounts n = counts();
    EXPECT_EQ(n.dead, 1);
    EXPECT_EQ(n.ready, 1);
    EXPECT_EQ(n.running, 0);
    // The new t:c continues the dropped one's fences (its fence key outlives it for done_ttl), so
    // a worker of the old job could never commit for the new one.
    auto renewed = claim({"t"});
    ASSERT_TRUE(renewed.has_value());
    EXPECT_EQ(renewed->id, "t:c");
    EXPECT_EQ(renewed->attempt, 1);
    EXPECT_EQ(renewed->fence, 2);
    EXPECT_EQ(fence_in_store("t:c"), "2");
  }

  // Two queue providers ("two processes"; memory: one provider, two threads) claim from one
  // backlog until it is empty; each job must be claimed exactly once. Leases are long, so no
  // claim may take a job from another: any job claimed twice is a broken claim.
  void two_providers_never_claim_one_job_twice() {
    open();
    constexpr int kJobs = 120;
    for (int i = 0; i < kJobs; ++i) enqueue("t", "job-" + std::to_string(i));
    std::array<boost::asio::io_context, 2> loops;  // outlive the providers (declared before them)
    std::vector<std::unique_ptr<StoreProvider>> stores;
    std::vector<std::unique_ptr<JobQueueProvider>> queues;
    if (backend_ != "memory") {
      for (int p = 0; p < 2; ++p) {
        stores.push_back(open_store(url(), store_options_));
        queues.push_back(open_job_queue(url(), *stores.back(), store_options_, queue_options_));
      }
    }
    std::array<std::vector<std::string>, 2> claimed;
    std::array<int, 2> errors{0, 0};
    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < 2; ++w) {
      workers.emplace_back([&, w] {
        boost::asio::io_context& io = loops[w];
        auto queue = (queues.empty() ? *queue_provider_ : *queues[w]).queue_for(io.get_executor());
        std::string worker = "w" + std::to_string(w);
        for (;;) {
          auto c = testing::run_coro(io, queue->claim({"t"}, worker, 600'000ms));
          if (!c) {
            ++errors[w];
            break;
          }
          if (!*c) break;
          claimed[w].push_back((*c)->id);
          auto done = testing::run_coro(io, queue->complete((*c)->id, (*c)->fence));
          if (!done || !*done) ++errors[w];
        }
        queue.reset();
        io.restart();
        io.run_for(50ms);  // lets a redis queue close its connection on its own loop
      });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(errors[0] + errors[1], 0);
    std::multiset<std::string> all(claimed[0].begin(), claimed[0].end());
    all.insert(claimed[1].begin(), claimed[1].end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs));
    for (int i = 0; i < kJobs; ++i) {
      EXPECT_EQ(all.count("t:job-" + std::to_string(i)), 1u) << "job-" << i;
    }
    queues.clear();
    stores.clear();
  }

  // --- TRAVELS: manual-clock backends only ---

  void claims_come_in_run_at_order() {
    open();
    enqueue("t", "late", 3000ms);
    enqueue("t", "early", 1000ms);
    enqueue("t", "middle", 2000ms);
    enqueue("u", "other-type", 1500ms);
    EXPECT_EQ(claimed_id({"t", "u"}), "");
    travel(3000ms);
    EXPECT_EQ(claimed_id({"t", "u"}), "t:early");
    EXPECT_EQ(claimed_id({"t", "u"}), "u:other-type");
    EXPECT_EQ(claimed_id({"t", "u"}), "t:middle");
    EXPECT_EQ(claimed_id({"t", "u"}), "t:late");
    EXPECT_EQ(claimed_id({"t", "u"}), "");
  }

  void a_delayed_job_waits_for_its_time() {
    open();
    enqueue("t", "k", 5000ms);
    auto info = get("t:k");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->run_at_ms, clock_.now_ms() + 5000);
    EXPECT_EQ(counts().delayed, 1);
    EXPECT_EQ(counts().ready, 0);
    EXPECT_EQ(claimed_id({"t"}), "");
    travel(4999ms);
    EXPECT_EQ(claimed_id({"t"}), "");
    travel(1ms);  // run_at has come
    EXPECT_EQ(counts().ready, 1);
    EXPECT_EQ(claimed_id({"t"}), "t:k");
  }

  void a_claim_whose_lease_ran_out_is_claimed_again_with_the_next_fence() {
    open();
    enqueue("t", "k");
    auto old = claim({"t"}, "paused", 1000ms);
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(get("t:k")->lease_until_ms, clock_.now_ms() + 1000);
    travel(1000ms);
    EXPECT_EQ(claim({"t"}, "other"), std::nullopt);  // the lease's last millisecond
    travel(1ms);
    auto fresh = claim({"t"}, "other", 1000ms);
    ASSERT_TRUE(fresh.has_value());
    EXPECT_EQ(fresh->fence, 2);
    EXPECT_EQ(fresh->attempt, 2);
    EXPECT_EQ(fence_in_store("t:k"), "2");
    EXPECT_EQ(get("t:k")->worker, "other");
    // The paused worker wakes up: its lease, its completion and its commit are all refused.
    EXPECT_FALSE(renew("t:k", old->fence));
    EXPECT_FALSE(fail("t:k", old->fence, "late", 0ms));
    EXPECT_FALSE(complete("t:k", old->fence));
    EXPECT_FALSE(commit_fenced("t:k", old->fence, "effect"));
    EXPECT_EQ(run(store_->get("effect")), std::nullopt);
    EXPECT_TRUE(commit_fenced("t:k", fresh->fence, "effect"));
    EXPECT_TRUE(complete("t:k", fresh->fence));
  }

  void renew_extends_the_lease() {
    open();
    enqueue("t", "k");
    auto c = claim({"t"}, "w1", 1000ms);
    ASSERT_TRUE(c.has_value());
    travel(900ms);
    EXPECT_TRUE(renew(c->id, c->fence, 1000ms));
    EXPECT_EQ(get(c->id)->lease_until_ms, clock_.now_ms() + 1000);
    travel(900ms);  // past the first lease, within the renewed one
    EXPECT_EQ(claim({"t"}, "w2"), std::nullopt);
    travel(101ms);
    auto next = claim({"t"}, "w2");
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->fence, 2);
    // A lease that ran out but was not yet taken may still be renewed: the fence is the latest.
    enqueue("t", "slow");
    auto slow = claim({"t"}, "w1", 1000ms);
    ASSERT_TRUE(slow.has_value());
    travel(2000ms);
    EXPECT_TRUE(renew(slow->id, slow->fence, 1000ms));
    EXPECT_EQ(claimed_id({"t"}, "w2"), "");
  }

  void fail_with_retry_waits_and_counts_the_attempt() {
    open();
    enqueue("t", "k");
    auto c = claim({"t"});
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(fail(c->id, c->fence, "boom", 5000ms));
    auto info = get(c->id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::waiting);
    EXPECT_EQ(info->run_at_ms, clock_.now_ms() + 5000);
    EXPECT_EQ(info->attempts, 1);
    EXPECT_EQ(info->last_error, "boom");
    EXPECT_EQ(counts().delayed, 1);
    EXPECT_EQ(claimed_id({"t"}), "");
    travel(5000ms);
    auto retry = claim({"t"});
    ASSERT_TRUE(retry.has_value());
    EXPECT_EQ(retry->attempt, 2);
    EXPECT_EQ(retry->fence, 2);
    EXPECT_EQ(retry->last_error, "boom");
  }

  void a_lease_running_out_on_the_last_attempt_is_dead() {
    open();
    enqueue("t", "k", 0ms, 1);
    enqueue("t", "z-next", 0ms, 1);
    auto c = claim({"t"}, "w1", 1000ms);
    ASSERT_TRUE(c.has_value());
    ASSERT_EQ(c->id, "t:k");
    travel(1001ms);
    // The expired claim is not handed out again (no attempts left): it goes dead, and the claim
    // takes the next job instead.
    EXPECT_EQ(claimed_id({"t"}, "w2"), "t:z-next");
    auto info = get("t:k");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::dead);
    EXPECT_EQ(info->last_error, "lease expired");
    EXPECT_EQ(dead_ids(), (std::vector<std::string>{"t:k"}));
    EXPECT_FALSE(complete("t:k", c->fence));
  }

  void counts_by_state() {
    open();
    enqueue("t", "ready-1");
    enqueue("t", "ready-2");
    enqueue("t", "delayed", 60'000ms);
    enqueue("t", "running");
    enqueue("t", "dead");
    JobCounts zero = counts();
    EXPECT_EQ(zero.ready, 4);
    EXPECT_EQ(zero.delayed, 1);
    // Claim in id order among equal run_at: dead, ready-1, ready-2, running. Put two back.
    auto d = claim({"t"});
    ASSERT_TRUE(d.has_value());
    ASSERT_EQ(d->id, "t:dead");
    ASSERT_TRUE(fail(d->id, d->fence, "x", std::nullopt));
    travel(1ms);  // retried from now on, the two ready ones come after "running"
    for (char const* key : {"ready-1", "ready-2"}) {
      auto c = claim({"t"});
      ASSERT_TRUE(c.has_value());
      ASSERT_EQ(c->key, key);
      ASSERT_TRUE(fail(c->id, c->fence, "later", 0ms));
    }
    // ready-1 and ready-2 are due again, but "running" has been due longer.
    EXPECT_EQ(claimed_id({"t"}), "t:running");
    JobCounts n = counts();
    EXPECT_EQ(n.ready, 2);
    EXPECT_EQ(n.delayed, 1);
    EXPECT_EQ(n.running, 1);
    EXPECT_EQ(n.dead, 1);
  }

  void a_done_job_is_a_duplicate_until_done_ttl() {
    JobQueueOptions options;
    options.done_ttl = 10'000ms;
    open(options);
    enqueue("t", "k");
    auto c = claim({"t"});
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(complete(c->id, c->fence));
    travel(9999ms);
    EXPECT_TRUE(enqueue("t", "k").duplicate);
    EXPECT_EQ(state_of("t:k"), JobState::done);
    travel(1ms);
    EXPECT_EQ(get("t:k"), std::nullopt);  // forgotten
    Enqueued fresh = enqueue("t", "k");
    EXPECT_FALSE(fresh.duplicate);
    EXPECT_EQ(fresh.id, "t:k");
    auto info = get("t:k");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->state, JobState::waiting);
    EXPECT_EQ(info->attempts, 0);
    auto again = claim({"t"});
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->attempt, 1);
    EXPECT_EQ(fence_in_store("t:k"), std::to_string(again->fence));
  }

  std::string backend_;
  std::string engine_url_;
  core::ManualClock clock_;
  StoreOptions store_options_;
  JobQueueOptions queue_options_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  boost::asio::io_context io_;  // outlives the providers and handles below
  std::unique_ptr<StoreProvider> store_provider_;
  std::unique_ptr<JobQueueProvider> queue_provider_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<JobQueue> queue_;
};

}  // namespace outboard::state::job_testing
