// redis://'s job queue (docs/JOBS.md): every operation that changes a job is one Lua script, so
// Redis runs it atomically, and Redis's own clock (TIME, inside the scripts) is the queue's clock:
// every process, on any host, agrees on when a lease has run out.
//
// Keys, in the store's own database:
//   job:{<id>}            hash: type, key, payload, state, attempts, max_attempts, fence,
//                         last_error, run_at, lease_until, worker (times in ms since the epoch,
//                         Redis's clock). A done job's hash expires after done_ttl (dedupe).
//   job:{<id>}:fence      the latest claim's fence, a decimal string (state::fence_key(id)),
//                         SET by the claim script itself; what a handler's commit_if checks.
//   jobs:{<type>}:waiting sorted set of the type's waiting job ids by run_at
//   jobs:{<type>}:running sorted set of the type's running job ids by lease_until
//   jobs:dead             sorted set of dead job ids by time of death (the dead-letter list)
//   jobs:types            set of every type ever enqueued (what counts() walks)
// A job id is "<type>:<key>" and a type has no ':', so the type's keys follow from the id.
//
// Redis Cluster: these scripts touch keys of several slots, so a cluster has its own queue,
// split by slot (state/redis_cluster/cluster_job_queue.cpp); keys, prelude and decoding are
// shared with it (job_script.hpp, job_reply.hpp).
//
// Cost: one round trip per operation; claim_batch claims up to 64 jobs in that one round trip
// (the sets read once, each job's hash read and written once). Scripts go by EVALSHA (40 bytes instead of the script's
// text); a Redis that does not know the script (restarted, SCRIPT FLUSH) answers NOSCRIPT, and
// that call is sent again once as EVAL, which also loads it.
#include "state/redis/redis_job_queue.hpp"

#include <boost/asio/dispatch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "state/job_spec.hpp"
#include "state/redis/commit_script.hpp"
#include "state/redis/job_reply.hpp"
#include "state/redis/job_script.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

namespace asio = boost::asio;
using namespace redis_jobs;  // the job keys, scripts and reply decoding shared with redis-cluster://

// --- the scripts ---

// Every script is prepended with the shared prelude (job_script.hpp: now_ms, int, job_key,
// fence_key, type_key, holds).

// KEYS: 1 job hash, 2 fence key, 3 type's waiting set, 4 jobs:types. ARGV: 1 id, 2 type, 3 key,
// 4 payload, 5 delay ms, 6 max_attempts. A known id (any state; a done job until its hash
// expires) is a duplicate: 0. The fence starts from a fence key left by a forgotten job of the
// same id, so fences keep growing per id and a worker of that old job can never commit.
constexpr std::string_view kEnqueue = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local run_at = now_ms() + tonumber(ARGV[5])
local fence = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
redis.call('HSET', KEYS[1], 'type', ARGV[2], 'key', ARGV[3], 'payload', ARGV[4], 'state', 'waiting',
  'attempts', 0, 'max_attempts', ARGV[6], 'fence', fence, 'last_error', '', 'run_at', run_at,
  'lease_until', 0, 'worker', '')
redis.call('ZADD', KEYS[3], run_at, ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
return 1
)lua";

// KEYS: 1 jobs:dead, then per type its waiting and running sets. ARGV: 1 worker, 2 lease ms,
// 3 max (1..64), 4... the types. Claims up to `max` jobs, in the order single claims would take
// them: per type two lists, its running jobs whose lease ran out (oldest lease first; exhausted
// ones go dead with "lease expired" on the way) and its waiting jobs due (by run_at), merged by
// each job's run_at (a reclaimed job keeps its own), ties by id bytewise (as a sorted set orders
// equal scores, and as the other backends do). Returns an array of {id, type, key, payload,
// fence, attempt, max_attempts, last_error}. Set members whose hash is gone (deleted by hand)
// are dropped on the way; at most 64 members are dropped per call, to bound the script.
constexpr std::string_view kClaim = R"lua(
local now = now_ms()
local max = tonumber(ARGV[3])
local dropped = 0
-- Lua compares strings with strcoll, and redis-server takes LC_COLLATE from its environment.
local function bytewise_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function all_false(values)
  for i = 1, #values do if values[i] then return false end end
  return true
end
-- Up to `want` running jobs of the set whose lease ran out and that may run again, as {id, run_at}.
local function expired(running, want)
  local items, offset = {}, 0
  while #items < want and dropped < 64 do
    local ids = redis.call('ZRANGEBYSCORE', running, '-inf', '(' .. int(now), 'LIMIT', offset, want - #items)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      local job = redis.call('HMGET', job_key(id), 'attempts', 'max_attempts', 'run_at')
      if all_false(job) then
        redis.call('ZREM', running, id)
        dropped = dropped + 1
      elseif tonumber(job[1]) < tonumber(job[2]) then
        items[#items + 1] = {id, tonumber(job[3])}
        offset = offset + 1
      else
        redis.call('HSET', job_key(id), 'state', 'dead', 'last_error', 'lease expired', 'lease_until', 0)
        redis.call('ZREM', running, id)
        redis.call('ZADD', KEYS[1], now, id)
        dropped = dropped + 1
      end
    end
  end
  return items
end
local function due(waiting, want)
  local items = {}
  local top = redis.call('ZRANGEBYSCORE', waiting, '-inf', int(now), 'WITHSCORES', 'LIMIT', 0, want)
  for i = 1, #top, 2 do items[#items + 1] = {top[i], tonumber(top[i + 1])} end
  return items
end
local function before(a, b) return a[2] < b[2] or (a[2] == b[2] and bytewise_less(a[1], b[1])) end
local lease = tonumber(ARGV[2])
local out = {}
-- One pass: the candidates, merged, taken; a second pass only when a taken member's hash was gone.
for _ = 1, 64 do
  local want = max - #out
  local lists = {}
  for i = 4, #ARGV do
    local waiting, running = KEYS[2 * i - 6], KEYS[2 * i - 5]
    lists[#lists + 1] = {set = running, running = running, items = expired(running, want), at = 1}
    lists[#lists + 1] = {set = waiting, running = running, items = due(waiting, want), at = 1}
  end
  local removed, added, gone = {}, {}, false
  while #out < max do
    local best
    for _, list in ipairs(lists) do
      local item = list.items[list.at]
      if item and (not best or before(item, best.items[best.at])) then best = list end
    end
    if not best then break end
    local id = best.items[best.at][1]
    best.at = best.at + 1
    local key = job_key(id)
    -- One read and one write of the job's hash (each redis.call is a good part of a script's cost).
    local job = redis.call('HMGET', key, 'attempts', 'fence', 'type', 'key', 'payload', 'max_attempts', 'last_error')
    removed[best.set] = removed[best.set] or {}
    table.insert(removed[best.set], id)
    if all_false(job) then
      -- Its list was cut to `want` entries: merge no further on it, fetch again in the next pass.
      gone = true
      dropped = dropped + 1
      break
    else
      local attempt = (tonumber(job[1]) or 0) + 1
      local fence = tonumber(job[2]) + 1
      local lease_until = now + lease
      redis.call('HSET', key, 'state', 'running', 'attempts', attempt, 'fence', fence, 'lease_until', lease_until,
        'worker', ARGV[1])
      redis.call('SET', fence_key(id), fence)
      added[best.running] = added[best.running] or {}
      table.insert(added[best.running], lease_until)
      table.insert(added[best.running], id)
      out[#out + 1] = {id, job[3], job[4], job[5], fence, attempt, tonumber(job[6]), job[7]}
    end
  end
  for set, ids in pairs(removed) do redis.call('ZREM', set, unpack(ids)) end
  for set, pairs_ in pairs(added) do redis.call('ZADD', set, unpack(pairs_)) end
  if not gone or #out >= max or dropped >= 64 then break end
end
return out
)lua";

// KEYS: 1 job hash, 2 running set. ARGV: 1 id, 2 fence, 3 lease ms. 1 renewed, 0 not this claim.
constexpr std::string_view kRenew = R"lua(
if not holds(KEYS[1], ARGV[2]) then return 0 end
local lease_until = now_ms() + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'lease_until', lease_until)
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
return 1
)lua";

// KEYS: 1 job hash, 2 fence key, 3 running set. ARGV: 1 id, 2 fence, 3 done_ttl ms. The hash is
// kept for done_ttl (a re-enqueue is a duplicate until then), the fence key as long.
constexpr std::string_view kComplete = R"lua(
if not holds(KEYS[1], ARGV[2]) then return 0 end
mark_done(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[3])
return 1
)lua";

// A handler's effect and the completion in one script, after the shared commit_if function
// (commit_script.hpp). KEYS: 1 job hash, 2 fence key, 3 running set, 4... the commit's keys.
// ARGV: 1 id, 2 fence, 3 done_ttl ms, 4... the commit's operations. 1: written and done;
// 0: a condition failed, nothing written; 2: written, but this claim no longer holds the job (the
// `locked` design commits without conditions), so it is not completed; or commit_if's error.
constexpr std::string_view kCommitAndComplete = R"lua(
local commit_keys, commit_ops = {}, {}
for i = 4, #KEYS do commit_keys[#commit_keys + 1] = KEYS[i] end
for i = 4, #ARGV do commit_ops[#commit_ops + 1] = ARGV[i] end
local written = commit_if(commit_keys, commit_ops)
if written ~= 1 then return written end
if not holds(KEYS[1], ARGV[2]) then return 2 end
mark_done(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[3])
return 1
)lua";

// KEYS: 1 job hash, 2 running set, 3 waiting set, 4 jobs:dead. ARGV: 1 id, 2 fence, 3 error,
// 4 retry in ms ('' for never: dead at once).
constexpr std::string_view kFail = R"lua(
if not holds(KEYS[1], ARGV[2]) then return 0 end
local now = now_ms()
local job = redis.call('HMGET', KEYS[1], 'attempts', 'max_attempts')
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[4] == '' or tonumber(job[1]) >= tonumber(job[2]) then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', ARGV[3], 'lease_until', 0)
  redis.call('ZADD', KEYS[4], now, ARGV[1])
else
  local run_at = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'state', 'waiting', 'last_error', ARGV[3], 'lease_until', 0, 'run_at', run_at)
  redis.call('ZADD', KEYS[3], run_at, ARGV[1])
end
return 1
)lua";

// KEYS: 1 job hash, 2 jobs:dead, 3 waiting set. ARGV: 1 id. last_error stays (the next claim
// shows it).
constexpr std::string_view kRetryDead = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return 0 end
local now = now_ms()
redis.call('HSET', KEYS[1], 'state', 'waiting', 'attempts', 0, 'run_at', now, 'lease_until', 0)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
return 1
)lua";

// KEYS: 1 job hash, 2 jobs:dead, 3 fence key. ARGV: 1 id, 2 done_ttl ms. The fence key stays for
// done_ttl, so a new job of the same id within it continues the fences (see kEnqueue).
constexpr std::string_view kDropDead = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
)lua";

// KEYS: 1 jobs:types, 2 jobs:dead. Returns {ready, delayed, running, dead}. Cost: O(types).
constexpr std::string_view kCounts = R"lua(
local now = now_ms()
local ready, delayed, running = 0, 0, 0
for _, t in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local waiting = type_key(t, 'waiting')
  ready = ready + redis.call('ZCOUNT', waiting, '-inf', int(now))
  delayed = delayed + redis.call('ZCOUNT', waiting, '(' .. int(now), '+inf')
  running = running + redis.call('ZCARD', type_key(t, 'running'))
end
return {ready, delayed, running, redis.call('ZCARD', KEYS[2])}
)lua";

// KEYS: 1 jobs:dead. ARGV: 1 limit (>= 1). Returns {{id, {field, value, ...}}, ...}, oldest death
// first; an id whose hash is gone comes with an empty array.
constexpr std::string_view kDeadLetters = R"lua(
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = {id, redis.call('HGETALL', job_key(id))}
end
return out
)lua";

// Made once per provider (start-up), shared read-only by its queues and their calls in flight.
struct Scripts {
  Script enqueue = make_script(kEnqueue);
  Script claim = make_script(kClaim);
  Script renew = make_script(kRenew);
  Script complete = make_script(kComplete);
  Script commit_and_complete = make_script(redis_commit::with_commit_function(kCommitAndComplete));
  Script fail = make_script(kFail);
  Script retry_dead = make_script(kRetryDead);
  Script drop_dead = make_script(kDropDead);
  Script counts = make_script(kCounts);
  Script dead_letters = make_script(kDeadLetters);
};
using ScriptRef = std::shared_ptr<Script const>;  // aliases into the provider's Scripts

// --- keys (the same names the scripts build) ---

constexpr std::string_view kDeadKey = "jobs:dead";
constexpr std::string_view kTypesKey = "jobs:types";

// --- replies ---

Result<JobCounts> decode_counts(std::string_view op, Reply&& reply) {
  auto& e = reply.elements;
  if (reply.type != Reply::Type::array || e.size() != 4) return bad_reply(op, "not an array of 4");
  for (auto const& item : e) {
    if (item.type != Reply::Type::integer) return bad_reply(op, "a count is not an integer");
  }
  return JobCounts{e[0].integer, e[1].integer, e[2].integer, e[3].integer};
}

Result<std::vector<JobInfo>> decode_dead_letters(std::string_view op, Reply&& reply) {
  if (reply.type != Reply::Type::array) return bad_reply(op, "not an array");
  std::vector<JobInfo> out;
  for (Reply& item : reply.elements) {
    if (item.type != Reply::Type::array || item.elements.size() != 2 ||
        item.elements[0].type != Reply::Type::string) {
      return bad_reply(op, "an entry is not {id, fields}");
    }
    auto found = decode_get(op, std::move(item.elements[0].str), std::move(item.elements[1]));
    if (!found) return found.error();
    if (*found) out.push_back(std::move(**found));  // a hash deleted by hand: skipped
  }
  return out;
}

Result<CommitOutcome> decode_commit_outcome(std::string_view op, Reply&& reply) {
  if (reply.type != Reply::Type::integer || reply.integer < 0 || reply.integer > 2) return bad_reply(op, "not 0, 1 or 2");
  if (reply.integer == 1) return CommitOutcome::completed;
  return reply.integer == 0 ? CommitOutcome::refused : CommitOutcome::written_not_held;
}

// --- calls ---

using Connection = std::shared_ptr<RedisConnection>;

template <class T>
Async<T> ready(Result<T> value) {
  co_return value;
}

// EVALSHA, and once more as EVAL when Redis does not know the script. A free coroutine owning
// what it uses: the queue may be destroyed while this waits.
Async<Reply> eval_encoded(Connection conn, ScriptRef script, std::string by_sha) {
  std::string sent = by_sha;  // kept for a NOSCRIPT answer (execute takes its command)
  auto reply = co_await conn->execute(std::move(sent));
  if (reply && is_noscript(*reply)) {
    std::string by_text = redis_lua::with_script_text(by_sha, script->text);
    reply = co_await conn->execute(std::move(by_text));
  }
  co_return reply;
}

Async<Reply> eval(Connection conn, ScriptRef script, std::vector<std::string> const& keys,
                  std::vector<std::string> const& args) {
  return eval_encoded(std::move(conn), script, encode_eval("EVALSHA", script->sha, keys, args));
}

// A script's call, its reply checked for errors and decoded.
template <class T, class Decode>
Async<T> run_encoded(Connection conn, ScriptRef script, std::string by_sha, std::string_view op, Decode decode) {
  auto call = eval_encoded(std::move(conn), std::move(script), std::move(by_sha));
  auto reply = co_await std::move(call);
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return error_reply(op, *reply);
  co_return decode(op, std::move(*reply));
}

template <class T, class Decode>
Async<T> run_script(Connection conn, ScriptRef script, std::vector<std::string> keys, std::vector<std::string> args,
                    std::string_view op, Decode decode) {
  auto call = eval(std::move(conn), std::move(script), keys, args);
  auto reply = co_await std::move(call);
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return error_reply(op, *reply);
  co_return decode(op, std::move(*reply));
}

Async<std::optional<JobInfo>> run_get(Connection conn, std::string id) {
  std::string command = encode_command({"HGETALL", job_key(id)});
  auto reply = co_await conn->execute(std::move(command));
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return error_reply("get", *reply);
  co_return decode_get("get", std::move(id), std::move(*reply));
}

// One worker thread's queue, on a pipelined connection of its own. Methods encode their
// arguments at once and return coroutines that own what they need. Call only from coroutines on
// the executor it was made for.
class RedisJobQueue final : public JobQueue {
 public:
  RedisJobQueue(asio::any_io_executor executor, Connection conn, std::shared_ptr<Scripts const> scripts,
                JobQueueOptions const& options, bool one_step_commit)
      : executor_(std::move(executor)),
        conn_(std::move(conn)),
        scripts_(std::move(scripts)),
        options_(options),
        one_step_commit_(one_step_commit) {}

  // As RedisStore's: the socket is closed on the connection's own thread.
  ~RedisJobQueue() override {
    asio::dispatch(executor_, [conn = std::move(conn_)] { conn->close(); });
  }
  RedisJobQueue(RedisJobQueue const&) = delete;
  RedisJobQueue& operator=(RedisJobQueue const&) = delete;

  std::string_view backend() const override { return "redis"; }

  Async<Enqueued> enqueue(JobSpec spec) override {
    if (auto valid = validate(spec, options_); !valid) return ready<Enqueued>(valid.error());
    std::string id = job_id(spec.type, spec.key);
    auto decode = [id](std::string_view op, Reply&& reply) -> Result<Enqueued> {
      auto created = decode_flag(op, std::move(reply));
      if (!created) return created.error();
      return Enqueued{id, !*created};
    };
    return run_script<Enqueued>(conn_, script(&Scripts::enqueue),
                                {job_key(id), fence_key(id), type_key(spec.type, "waiting"), std::string(kTypesKey)},
                                {id, spec.type, spec.key, std::move(spec.payload), millis(spec.delay),
                                 std::to_string(spec.max_attempts)},
                                "enqueue", decode);
  }

  Async<std::optional<Claim>> claim(std::vector<std::string> types, std::string worker, Millis lease) override {
    auto first = [](std::string_view op, Reply&& reply) -> Result<std::optional<Claim>> {
      auto claims = decode_claims(op, std::move(reply));
      if (!claims) return claims.error();
      if (claims->empty()) return std::optional<Claim>{};
      return std::optional<Claim>{std::move(claims->front())};
    };
    return claim_script<std::optional<Claim>>(std::move(types), std::move(worker), lease, 1, first);
  }

  Async<std::vector<Claim>> claim_batch(std::vector<std::string> types, std::string worker, Millis lease,
                                        std::size_t max) override {
    return claim_script<std::vector<Claim>>(std::move(types), std::move(worker), lease,
                                            std::min(max, kMaxClaimBatch), decode_claims);
  }

  Async<bool> renew(std::string id, std::int64_t fence, Millis lease) override {
    auto type = type_of(id);
    if (type.empty()) return ready(Result<bool>{false});
    return run_script<bool>(conn_, script(&Scripts::renew), {job_key(id), type_key(type, "running")},
                            {id, std::to_string(fence), millis(lease)}, "renew", decode_flag);
  }

  Async<bool> complete(std::string id, std::int64_t fence) override {
    auto type = type_of(id);
    if (type.empty()) return ready(Result<bool>{false});
    return run_script<bool>(conn_, script(&Scripts::complete),
                            {job_key(id), fence_key(id), type_key(type, "running")},
                            {id, std::to_string(fence), millis(options_.done_ttl)}, "complete", decode_flag);
  }

  Async<bool> fail(std::string id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) override {
    auto type = type_of(id);
    if (type.empty()) return ready(Result<bool>{false});
    return run_script<bool>(
        conn_, script(&Scripts::fail),
        {job_key(id), type_key(type, "running"), type_key(type, "waiting"), std::string(kDeadKey)},
        {id, std::to_string(fence), std::move(error), retry_in ? millis(*retry_in) : std::string()}, "fail",
        decode_flag);
  }

  bool commits_and_completes() const override { return one_step_commit_; }

  Async<CommitOutcome> commit_and_complete(std::string id, std::int64_t fence, std::vector<Condition> conditions,
                                           std::vector<Write> writes) override {
    auto type = type_of(id);
    if (!one_step_commit_ || type.empty()) return JobQueue::commit_and_complete(id, fence, {}, {});
    // Everything is encoded here, before returning: the conditions and writes need not outlive this.
    auto const commit = redis_commit::encode(conditions, writes);
    std::string const keys[] = {job_key(id), fence_key(id), type_key(type, "running")};
    std::string const key_count = std::to_string(3 + commit.keys.size());
    std::string const fence_text = std::to_string(fence);
    std::string const done_ttl = millis(options_.done_ttl);
    ScriptRef script_ref = script(&Scripts::commit_and_complete);
    std::vector<std::string_view> parts{"EVALSHA", script_ref->sha, key_count, keys[0], keys[1], keys[2]};
    parts.reserve(parts.size() + commit.keys.size() + 3 + commit.args.size());
    parts.insert(parts.end(), commit.keys.begin(), commit.keys.end());
    parts.insert(parts.end(), {std::string_view(id), std::string_view(fence_text), std::string_view(done_ttl)});
    parts.insert(parts.end(), commit.args.begin(), commit.args.end());
    return run_encoded<CommitOutcome>(conn_, std::move(script_ref), encode_command(parts), "commit_and_complete",
                                      decode_commit_outcome);
  }

  Async<std::optional<JobInfo>> get(std::string id) override { return run_get(conn_, std::move(id)); }

  Async<JobCounts> counts() override {
    return run_script<JobCounts>(conn_, script(&Scripts::counts), {std::string(kTypesKey), std::string(kDeadKey)},
                                 {}, "counts", decode_counts);
  }

  Async<std::vector<JobInfo>> dead_letters(std::size_t limit) override {
    if (limit == 0) return ready(Result<std::vector<JobInfo>>{std::vector<JobInfo>{}});
    return run_script<std::vector<JobInfo>>(conn_, script(&Scripts::dead_letters), {std::string(kDeadKey)},
                                            {std::to_string(limit)}, "dead_letters", decode_dead_letters);
  }

  Async<bool> retry_dead(std::string id) override {
    auto type = type_of(id);
    if (type.empty()) return ready(Result<bool>{false});
    return run_script<bool>(conn_, script(&Scripts::retry_dead),
                            {job_key(id), std::string(kDeadKey), type_key(type, "waiting")}, {id}, "retry_dead",
                            decode_flag);
  }

  Async<bool> drop_dead(std::string id) override {
    if (type_of(id).empty()) return ready(Result<bool>{false});
    return run_script<bool>(conn_, script(&Scripts::drop_dead), {job_key(id), std::string(kDeadKey), fence_key(id)},
                            {id, millis(options_.done_ttl)}, "drop_dead", decode_flag);
  }

 private:
  ScriptRef script(Script const Scripts::*which) const { return ScriptRef(scripts_, &(*scripts_.*which)); }

  template <class T, class Decode>
  Async<T> claim_script(std::vector<std::string> types, std::string worker, Millis lease, std::size_t max,
                        Decode decode) {
    if (types.empty() || max == 0) return ready(decode("claim", Reply{}));  // a nil reply: nothing claimed
    std::vector<std::string> keys{std::string(kDeadKey)};
    for (auto const& type : types) {
      keys.push_back(type_key(type, "waiting"));
      keys.push_back(type_key(type, "running"));
    }
    std::vector<std::string> args{std::move(worker), millis(lease), std::to_string(max)};
    args.insert(args.end(), std::make_move_iterator(types.begin()), std::make_move_iterator(types.end()));
    return run_script<T>(conn_, script(&Scripts::claim), std::move(keys), std::move(args), "claim", decode);
  }

  asio::any_io_executor executor_;
  Connection conn_;
  std::shared_ptr<Scripts const> scripts_;
  JobQueueOptions options_;
  bool one_step_commit_;
};

class RedisJobQueueProvider final : public JobQueueProvider {
 public:
  // A store with a near-cache drops what it writes from its cache, and one with WAIT confirms its
  // writes on replicas: a commit that bypasses the Store would skip both, so there is none then.
  RedisJobQueueProvider(RedisEndpoint endpoint, StoreOptions const& store_options, JobQueueOptions const& options)
      : endpoint_(std::move(endpoint)),
        options_(options),
        one_step_commit_(store_options.near_cache_keys == 0 && store_options.wait_replicas == 0),
        scripts_(std::make_shared<Scripts const>()) {}

  std::string_view backend() const override { return "redis"; }

  // On the worker thread, once: a connection bound to its executor, made on first use.
  std::shared_ptr<JobQueue> queue_for(asio::any_io_executor executor) override {
    auto conn = RedisConnection::create(executor, endpoint_);
    return std::make_shared<RedisJobQueue>(executor, std::move(conn), scripts_, options_, one_step_commit_);
  }

 private:
  RedisEndpoint endpoint_;
  JobQueueOptions options_;
  bool one_step_commit_;
  std::shared_ptr<Scripts const> scripts_;
};

}  // namespace

std::unique_ptr<JobQueueProvider> make_redis_job_queue(StoreUrl const& url, StoreOptions const& options,
                                                       JobQueueOptions const& queue_options) {
  return std::make_unique<RedisJobQueueProvider>(endpoint_for(url, options), options, queue_options);
}

}  // namespace outboard::state
