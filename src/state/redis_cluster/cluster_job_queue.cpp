// redis-cluster://'s job queue. A cluster runs a script only on keys of one slot, so the single
// redis queue's scripts (redis_job_queue.cpp: one script per claim over a job and its type's
// sets) are split here by slot. Keys (the same names as redis://, plus a dead set per type):
//   job:{<id>}            the job's hash (layout of redis://)      } the job's slot: the TRUTH
//   job:{<id>}:fence      state::fence_key(id), written by claims  }
//   jobs:{<type>}:waiting ids by run_at                            } the type's slot: the INDEX,
//   jobs:{<type>}:running ids by lease_until                       } a hint of where each job is
//   jobs:{<type>}:dead    ids by time of death (dead-letter list)  }
//   jobs:types            every type ever enqueued (its own slot; what counts() walks)
//
// Claim, in rounds: (1) peek each type's index for its earliest due id (waiting with run_at
// <= now, or running with lease_until < now), pick the earliest run_at; (2) on the type's slot,
// take it: move it to running with a lease, unless someone moved it since we looked; (3) on the
// job's slot, claim the job if it really is claimable (bump attempts and the fence, SET the fence
// key, lease it), or, when its lease ran out on the last attempt, make it dead. Anything else
// means the index was stale (a crash between two steps of some operation, another node's clock):
// (4) the id is put back where its job says, unless another worker moved it since step (2), and
// the next round starts. A crash between (2) and (3) leaves an index entry whose lease runs out:
// it is taken again later, and (3) is where the truth is, so no job is ever claimed twice.
//
// Every operation that changes a job does the job's slot first (the fence checked there), then
// the index. Times are Redis's (TIME inside the scripts): the job slot's clock for the job, the
// type slot's for its index; nodes' clocks that disagree only delay a claim (step 3 refuses an
// early one and step 4 re-files it).
#include "state/redis_cluster/cluster_job_queue.hpp"

#include <boost/asio/dispatch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "state/job_spec.hpp"
#include "state/redis/job_reply.hpp"
#include "state/redis/job_script.hpp"
#include "state/redis/redis_router.hpp"
#include "state/redis/resp.hpp"
#include "state/redis_cluster/cluster_router.hpp"

namespace outboard::state {
namespace cluster_jobs {
namespace {

namespace asio = boost::asio;
using namespace redis_jobs;

// --- the job's slot. KEYS: 1 job hash, 2 its fence key. Each answers {outcome, score}. ---

// ARGV: 1 type, 2 key, 3 payload, 4 delay ms, 5 max_attempts. {'new', run_at}, or for a known id
// {its state, run_at}. A new job's fence starts from a fence key left by a forgotten job of the
// same id (as on redis://).
constexpr std::string_view kEnqueueJob = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  local run_at = now_ms() + tonumber(ARGV[4])
  local fence = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  redis.call('HSET', KEYS[1], 'type', ARGV[1], 'key', ARGV[2], 'payload', ARGV[3], 'state', 'waiting',
    'attempts', 0, 'max_attempts', ARGV[5], 'fence', fence, 'last_error', '', 'run_at', run_at,
    'lease_until', 0, 'worker', '')
  return {'new', int(run_at)}
end
local job = redis.call('HMGET', KEYS[1], 'state', 'run_at')
return {job[1], job[2]}
)lua";

// ARGV: 1 id, 2 worker, 3 lease ms. Claimable (waiting and due, or running with its lease run
// out and attempts left): the claim, {id, type, key, payload, fence, attempt, max_attempts,
// last_error}. A lease run out on the last attempt: dead, {'dead', ''}. Otherwise where the job
// really is: {state, run_at or lease_until}, {'gone', ''} for no job.
constexpr std::string_view kClaimJob = R"lua(
local now = now_ms()
local job = redis.call('HMGET', KEYS[1], 'state', 'attempts', 'max_attempts', 'run_at', 'lease_until')
local state = job[1]
if not state then return {'gone', ''} end
if state == 'waiting' and tonumber(job[4]) > now then return {state, job[4]} end
if state == 'running' and tonumber(job[5]) >= now then return {state, job[5]} end
if state ~= 'waiting' and state ~= 'running' then return {state, ''} end
if state == 'running' and tonumber(job[2]) >= tonumber(job[3]) then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', 'lease expired', 'lease_until', 0)
  return {'dead', ''}
end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local fence = tonumber(redis.call('HGET', KEYS[1], 'fence')) + 1
local lease_until = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'state', 'running', 'fence', fence, 'lease_until', lease_until, 'worker', ARGV[2])
redis.call('SET', KEYS[2], fence)
local j = redis.call('HMGET', KEYS[1], 'type', 'key', 'payload', 'max_attempts', 'last_error')
return {ARGV[1], j[1], j[2], j[3], fence, attempt, tonumber(j[4]), j[5]}
)lua";

// ARGV: 1 fence, 2 lease ms. {'running', lease_until}; {'', ''}: not this claim.
constexpr std::string_view kRenewJob = R"lua(
if not holds(KEYS[1], ARGV[1]) then return {'', ''} end
local lease_until = now_ms() + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_until', lease_until)
return {'running', int(lease_until)}
)lua";

// ARGV: 1 fence, 2 done_ttl ms. The hash and the fence key are kept for done_ttl.
constexpr std::string_view kCompleteJob = R"lua(
if not holds(KEYS[1], ARGV[1]) then return {'', ''} end
redis.call('HSET', KEYS[1], 'state', 'done', 'lease_until', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {'done', ''}
)lua";

// ARGV: 1 fence, 2 error, 3 retry in ms ('' for never). {'waiting', run_at} or {'dead', ''}.
constexpr std::string_view kFailJob = R"lua(
if not holds(KEYS[1], ARGV[1]) then return {'', ''} end
local job = redis.call('HMGET', KEYS[1], 'attempts', 'max_attempts')
if ARGV[3] == '' or tonumber(job[1]) >= tonumber(job[2]) then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', ARGV[2], 'lease_until', 0)
  return {'dead', ''}
end
local run_at = now_ms() + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'last_error', ARGV[2], 'lease_until', 0, 'run_at', run_at)
return {'waiting', int(run_at)}
)lua";

// A dead job waiting again, claimable now, attempts reset. {'waiting', run_at}.
constexpr std::string_view kRetryDeadJob = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return {'', ''} end
local now = now_ms()
redis.call('HSET', KEYS[1], 'state', 'waiting', 'attempts', 0, 'run_at', now, 'lease_until', 0)
return {'waiting', int(now)}
)lua";

// ARGV: 1 done_ttl ms. The fence key outlives the job for done_ttl (see kEnqueueJob).
constexpr std::string_view kDropDeadJob = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return {'', ''} end
redis.call('DEL', KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {'gone', ''}
)lua";

// --- the type's slot. KEYS: 1 waiting, 2 running, 3 dead. ---

// The type's earliest due ids: {waiting id, run_at, running id, lease_until}, '' for none.
constexpr std::string_view kPeek = R"lua(
local now = now_ms()
local w = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(now), 'WITHSCORES', 'LIMIT', 0, 1)
local r = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. int(now), 'WITHSCORES', 'LIMIT', 0, 1)
return {w[1] or '', w[2] or '', r[1] or '', r[2] or ''}
)lua";

// ARGV: 1 id, 2 'waiting' or 'running', 3 the score seen by the peek, 4 lease ms. Moves the id
// to running until now + lease, answering that score; nil when it is no longer where it was seen.
constexpr std::string_view kTake = R"lua(
local from = ARGV[2] == 'waiting' and KEYS[1] or KEYS[2]
local seen = redis.call('ZSCORE', from, ARGV[1])
if not seen or tonumber(seen) ~= tonumber(ARGV[3]) then return false end
local lease_until = now_ms() + tonumber(ARGV[4])
redis.call('ZREM', from, ARGV[1])
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
return int(lease_until)
)lua";

// ARGV: 1 id, 2 from ('waiting', 'running', 'dead'), 3 expected score there ('' for any),
// 4 to ('waiting', 'running', 'dead', or '' for nowhere), 5 its score ('' for now; then an
// earlier entry there is kept). 1 moved; 0: the id was not at the expected score (someone moved
// it since: theirs is the newer news).
constexpr std::string_view kRefile = R"lua(
local sets = {waiting = KEYS[1], running = KEYS[2], dead = KEYS[3]}
local from = sets[ARGV[2]]
if ARGV[3] ~= '' then
  local seen = redis.call('ZSCORE', from, ARGV[1])
  if not seen or tonumber(seen) ~= tonumber(ARGV[3]) then return 0 end
end
redis.call('ZREM', from, ARGV[1])
local to = sets[ARGV[4]]
if to then
  if ARGV[5] == '' then
    redis.call('ZADD', to, 'NX', int(now_ms()), ARGV[1])
  else
    redis.call('ZADD', to, ARGV[5], ARGV[1])
  end
end
return 1
)lua";

// ARGV: 1 id, 2 run_at. A job just created: filed waiting whatever the index holds. An entry
// left in running or dead can only be its forgotten predecessor's, on its way out (a drop, or a
// claim that found no job): that operation's own index step then finds the id gone from where it
// expected it and leaves it alone, where waiting for it would have left the new job unfiled. (A
// duplicate enqueue's kFileWaiting and a claim may run before this: the claim's running entry is
// then moved back to waiting, and the next claim's step on the job's slot, which answers
// "running", files it where it belongs: only the counts are off until then.)
constexpr std::string_view kFileNew = R"lua(
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
)lua";

// ARGV: 1 id, 2 run_at. A waiting job's entry, unless the id is filed already (an entry in
// running or dead belongs to a claim or a death in progress).
constexpr std::string_view kFileWaiting = R"lua(
for i = 1, 3 do
  if redis.call('ZSCORE', KEYS[i], ARGV[1]) then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
)lua";

// {ready, delayed, running, dead}, as the index has them.
constexpr std::string_view kCountType = R"lua(
local now = now_ms()
return {redis.call('ZCOUNT', KEYS[1], '-inf', int(now)), redis.call('ZCOUNT', KEYS[1], '(' .. int(now), '+inf'),
  redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3])}
)lua";

constexpr std::string_view kTypesKey = "jobs:types";
// Rounds of one claim (each a stale index entry mended): bounds a claim's work, as redis://
// bounds the dead jobs one claim script moves.
constexpr int kMaxClaimRounds = 64;
// Takes lost to other workers within one claim: a bound on a hang, not a policy.
constexpr int kMaxLostRaces = 1024;

// Made once per provider (start-up), shared read-only by its queues and their calls in flight.
struct Scripts {
  Script enqueue = make_script(kEnqueueJob);
  Script claim = make_script(kClaimJob);
  Script renew = make_script(kRenewJob);
  Script complete = make_script(kCompleteJob);
  Script fail = make_script(kFailJob);
  Script retry_dead = make_script(kRetryDeadJob);
  Script drop_dead = make_script(kDropDeadJob);
  Script peek = make_script(kPeek);
  Script take = make_script(kTake);
  Script refile = make_script(kRefile);
  Script file_new = make_script(kFileNew);
  Script file_waiting = make_script(kFileWaiting);
  Script count_type = make_script(kCountType);
};
using ScriptsRef = std::shared_ptr<Scripts const>;
using Router = std::shared_ptr<RedisRouter>;

std::vector<std::string> job_keys(std::string const& id) { return {job_key(id), fence_key(id)}; }
std::vector<std::string> index_keys(std::string_view type) {
  return {type_key(type, "waiting"), type_key(type, "running"), type_key(type, "dead")};
}

// --- calls ---

template <class T>
Async<T> ready(Result<T> value) {
  co_return value;
}

// One command on the node of `route`'s slot, its error reply turned into our Error.
Async<Reply> send(Router router, std::string command, std::string route, Repeat repeat, std::string_view op) {
  auto pending = router->execute(std::move(command), std::move(route), repeat);
  auto reply = co_await std::move(pending);
  if (reply && reply->is_error()) co_return error_reply(op, *reply);
  co_return reply;
}

// EVALSHA on the node of KEYS[1]'s slot, and EVAL when that node does not know the script yet
// (NOSCRIPT: it did not run, so sending it again is safe even for an unsafe script).
Async<Reply> eval(Router router, ScriptsRef scripts, Script const Scripts::*which, std::vector<std::string> keys,
                  std::vector<std::string> args, Repeat repeat, std::string_view op) {
  Script const& script = *scripts.*which;
  std::string route = keys.front();
  std::string by_sha = encode_eval("EVALSHA", script.sha, keys, args);
  auto reply = co_await router->execute(std::move(by_sha), route, repeat);
  if (reply && is_noscript(*reply)) {
    std::string by_text = encode_eval("EVAL", script.text, keys, args);
    reply = co_await router->execute(std::move(by_text), std::move(route), repeat);
  }
  if (reply && reply->is_error()) co_return error_reply(op, *reply);
  co_return reply;
}

// A job-slot script's {outcome, score}: outcome '' is "refused" (not this claim, not dead...).
struct Outcome {
  std::string state;
  std::string score;
};

Result<Outcome> decode_outcome(std::string_view op, Reply&& reply) {
  auto& e = reply.elements;
  if (reply.type != Reply::Type::array || e.size() != 2) return bad_reply(op, "not an array of 2");
  // An absent hash field comes back as nil: '' (no score).
  for (auto const& item : e) {
    if (item.type != Reply::Type::string && item.type != Reply::Type::nil) return bad_reply(op, "not a string");
  }
  return Outcome{std::move(e[0].str), std::move(e[1].str)};
}

// A job-slot script (unsafe: it checks and writes), decoded.
Async<Outcome> on_job(Router router, ScriptsRef scripts, Script const Scripts::*which, std::string id,
                      std::vector<std::string> args, std::string_view op) {
  auto call = eval(router, scripts, which, job_keys(id), std::move(args), Repeat::unsafe, op);
  auto reply = co_await std::move(call);
  if (!reply) co_return reply.error();
  co_return decode_outcome(op, std::move(*reply));
}

// Moves `id` in its type's index (kRefile). Its answer does not matter: 0 means another worker
// moved it since, with newer knowledge.
Async<void> refile(Router router, ScriptsRef scripts, std::string id, std::string from, std::string expected,
                   std::string to, std::string score) {
  auto type = std::string(type_of(id));
  auto call = eval(router, scripts, &Scripts::refile, index_keys(type),
                   {std::move(id), std::move(from), std::move(expected), std::move(to), std::move(score)},
                   Repeat::unsafe, "refile");
  auto reply = co_await std::move(call);
  if (!reply) co_return reply.error();
  co_return Result<void>{};
}

// Where a job in `state` belongs in the index ('' for nowhere: done, or gone).
std::string index_set_for(std::string const& state) {
  return state == "waiting" || state == "running" || state == "dead" ? state : std::string();
}

// What an index step that fails after its job-slot change leaves behind.
enum class IndexStep {
  mended_by_claims,  // a running entry: its lease runs out and a claim files it where the job says
  mended_by_listing,  // a dead entry of a job waiting again: only a dead-letter listing finds it
};

// A job-slot change that succeeded, then its index entry moved accordingly: `from` -> where
// the outcome says. The job's slot is the truth. An index step that fails leaves a stale entry:
// one that claims mend is no failure of the operation; one that only a dead-letter listing mends
// is reported, since until then no claim can find the job.
Async<bool> change_then_refile(Router router, ScriptsRef scripts, Script const Scripts::*which, std::string id,
                               std::vector<std::string> args, std::string_view op, std::string from,
                               IndexStep if_lost = IndexStep::mended_by_claims) {
  auto change = on_job(router, scripts, which, id, std::move(args), op);
  auto changed = co_await std::move(change);
  if (!changed) co_return changed.error();
  if (changed->state.empty()) co_return false;
  auto mend = refile(router, scripts, id, std::move(from), "", index_set_for(changed->state), changed->score);
  auto moved = co_await std::move(mend);
  if (!moved && if_lost == IndexStep::mended_by_listing) {
    co_return core::make_error(moved.error().code, std::string(op) + ": job " + id +
                                                       " changed, but its index entry was not moved (" +
                                                       moved.error().describe() +
                                                       "); listing the dead letters files it again");
  }
  co_return true;
}

// --- enqueue ---

Async<Enqueued> run_enqueue(Router router, ScriptsRef scripts, JobSpec spec) {
  std::string id = job_id(spec.type, spec.key);
  // The type first: counts() finds every type that could have an entry.
  auto add_type = send(router, encode_command({"SADD", kTypesKey, spec.type}), std::string(kTypesKey), Repeat::safe,
                       "enqueue");
  auto typed = co_await std::move(add_type);
  if (!typed) co_return typed.error();
  auto make = on_job(router, scripts, &Scripts::enqueue, id,
                     {spec.type, spec.key, std::move(spec.payload), millis(spec.delay),
                      std::to_string(spec.max_attempts)},
                     "enqueue");
  auto made = co_await std::move(make);
  if (!made) co_return made.error();
  bool const created = made->state == "new";
  // A duplicate that is waiting is filed again when it is in no set: what mends a job whose
  // first enqueue failed between its two steps (that caller saw an error and retries).
  if (created || made->state == "waiting") {
    auto file = eval(router, scripts, created ? &Scripts::file_new : &Scripts::file_waiting, index_keys(spec.type),
                     {id, made->score}, Repeat::unsafe, "enqueue");
    auto filed = co_await std::move(file);
    if (!filed) co_return filed.error();
  }
  co_return Enqueued{std::move(id), !created};
}

// --- claim ---

// An index entry due now: the job `id`, seen in `from` ("waiting"/"running") at `score`.
struct Candidate {
  std::string id;
  std::string from;
  std::string score;
  std::int64_t run_at = 0;  // what orders candidates (a reclaimed job keeps its run_at)
};

bool earlier(Candidate const& a, Candidate const& b) {
  return a.run_at != b.run_at ? a.run_at < b.run_at : a.id < b.id;  // std::string: bytewise
}

// A running entry's run_at is in its job's hash; 0 when the hash is gone (taken first, then
// dropped from the index by step 3).
Async<std::int64_t> run_at_of(Router router, std::string id) {
  auto key = job_key(id);
  auto read = send(router, encode_command({"HGET", key, "run_at"}), key, Repeat::safe, "claim");
  auto reply = co_await std::move(read);
  if (!reply) co_return reply.error();
  if (reply->type == Reply::Type::nil) co_return std::int64_t{0};
  auto run_at = parse_int(reply->str);
  if (!run_at) co_return bad_reply("claim", "job " + id + ": run_at is not a number");
  co_return *run_at;
}

// The earliest due entry over `types`' indexes; nullopt: nothing due.
Async<std::optional<Candidate>> earliest_due(Router router, ScriptsRef scripts, std::vector<std::string> types) {
  std::optional<Candidate> best;
  for (auto const& type : types) {
    auto look = eval(router, scripts, &Scripts::peek, index_keys(type), {}, Repeat::safe, "claim");
    auto peek = co_await std::move(look);
    if (!peek) co_return peek.error();
    auto& e = peek->elements;
    if (peek->type != Reply::Type::array || e.size() != 4) co_return bad_reply("claim", "peek: not an array of 4");
    for (std::size_t i : {0, 2}) {
      if (e[i].str.empty()) continue;
      Candidate c{e[i].str, i == 0 ? "waiting" : "running", e[i + 1].str, 0};
      if (i == 0) {
        auto score = parse_int(c.score);
        if (!score) co_return bad_reply("claim", "peek: a score is not an integer");
        c.run_at = *score;
      } else {
        auto read = run_at_of(router, c.id);
        auto run_at = co_await std::move(read);
        if (!run_at) co_return run_at.error();
        c.run_at = *run_at;
      }
      if (!best || earlier(c, *best)) best = std::move(c);
    }
  }
  co_return best;
}

// Step 3's reply: the claim, or where the job really is.
Result<std::variant<Claim, Outcome>> decode_claim_job(std::string_view op, Reply&& reply) {
  if (reply.type == Reply::Type::array && reply.elements.size() == 2) {
    auto outcome = decode_outcome(op, std::move(reply));
    if (!outcome) return outcome.error();
    return std::variant<Claim, Outcome>{std::move(*outcome)};
  }
  auto claim = decode_claim(op, std::move(reply));
  if (!claim) return claim.error();
  if (!*claim) return bad_reply(op, "nil");
  return std::variant<Claim, Outcome>{std::move(**claim)};
}

Async<std::optional<Claim>> run_claim(Router router, ScriptsRef scripts, std::vector<std::string> types,
                                      std::string worker, Millis lease) {
  int mended = 0;
  int lost = 0;  // races lost to other workers: each one was progress for another
  while (mended < kMaxClaimRounds && lost < kMaxLostRaces) {
    auto look = earliest_due(router, scripts, types);
    auto due = co_await std::move(look);
    if (!due) co_return due.error();
    if (!*due) co_return std::optional<Claim>{};
    Candidate c = std::move(**due);
    std::string const type(type_of(c.id));
    auto take = eval(router, scripts, &Scripts::take, index_keys(type), {c.id, c.from, c.score, millis(lease)},
                     Repeat::unsafe, "claim");
    auto taken = co_await std::move(take);
    if (!taken) co_return taken.error();
    if (taken->type == Reply::Type::nil) {
      ++lost;  // another worker took it first
      continue;
    }
    std::string const taken_until = taken->str;
    auto call = eval(router, scripts, &Scripts::claim, job_keys(c.id), {c.id, worker, millis(lease)}, Repeat::unsafe,
                     "claim");
    auto reply = co_await std::move(call);
    if (!reply) co_return reply.error();
    auto result = decode_claim_job("claim", std::move(*reply));
    if (!result) co_return result.error();
    if (auto* claim = std::get_if<Claim>(&*result)) co_return std::optional<Claim>{std::move(*claim)};
    // The index was stale (or the job just died of its lease): file the id where its job says.
    auto const& truth = std::get<Outcome>(*result);
    auto mend = refile(router, scripts, c.id, "running", taken_until, index_set_for(truth.state), truth.score);
    auto moved = co_await std::move(mend);
    if (!moved) co_return moved.error();
    ++mended;
  }
  co_return std::optional<Claim>{};
}

// --- operations ---

// {id, score} of the dead sets, oldest death first (ties: id, bytewise), at most `limit`.
struct DeadEntry {
  std::int64_t at = 0;
  std::string id;
  std::string score;
};

Async<std::vector<std::string>> types_known(Router router, std::string_view op) {
  auto read = send(router, encode_command({"SMEMBERS", kTypesKey}), std::string(kTypesKey), Repeat::safe, op);
  auto reply = co_await std::move(read);
  if (!reply) co_return reply.error();
  std::vector<std::string> types;
  for (auto& item : reply->elements) types.push_back(std::move(item.str));
  co_return types;
}

Async<JobCounts> run_counts(Router router, ScriptsRef scripts) {
  auto types = co_await types_known(router, "counts");
  if (!types) co_return types.error();
  JobCounts total;
  for (auto const& type : *types) {
    auto count = eval(router, scripts, &Scripts::count_type, index_keys(type), {}, Repeat::safe, "counts");
    auto reply = co_await std::move(count);
    if (!reply) co_return reply.error();
    auto& e = reply->elements;
    if (reply->type != Reply::Type::array || e.size() != 4) co_return bad_reply("counts", "not an array of 4");
    total.ready += e[0].integer;
    total.delayed += e[1].integer;
    total.running += e[2].integer;
    total.dead += e[3].integer;
  }
  co_return total;
}

Async<std::vector<DeadEntry>> oldest_dead(Router router, std::vector<std::string> types, std::size_t limit) {
  std::vector<DeadEntry> all;
  for (auto const& type : types) {
    auto key = type_key(type, "dead");
    std::string last = std::to_string(limit - 1);
    auto read = send(router, encode_command({"ZRANGE", key, "0", last, "WITHSCORES"}), key, Repeat::safe,
                     "dead_letters");
    auto reply = co_await std::move(read);
    if (!reply) co_return reply.error();
    auto& e = reply->elements;
    for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
      auto at = parse_int(e[i + 1].str);
      if (!at) co_return bad_reply("dead_letters", "a score is not an integer");
      all.push_back(DeadEntry{*at, std::move(e[i].str), std::move(e[i + 1].str)});
    }
  }
  std::sort(all.begin(), all.end(), [](DeadEntry const& a, DeadEntry const& b) {
    return a.at != b.at ? a.at < b.at : a.id < b.id;
  });
  if (all.size() > limit) all.resize(limit);
  co_return all;
}

// The dead sets' jobs. An entry whose job is not dead (its retry or drop failed between its
// steps) is filed where the job says and left out.
Async<std::vector<JobInfo>> run_dead_letters(Router router, ScriptsRef scripts, std::size_t limit) {
  auto types = co_await types_known(router, "dead_letters");
  if (!types) co_return types.error();
  auto entries = co_await oldest_dead(router, std::move(*types), limit);
  if (!entries) co_return entries.error();
  std::vector<JobInfo> out;
  for (auto& entry : *entries) {
    auto key = job_key(entry.id);
    auto read = send(router, encode_command({"HGETALL", key}), key, Repeat::safe, "dead_letters");
    auto reply = co_await std::move(read);
    if (!reply) co_return reply.error();
    auto info = decode_get("dead_letters", entry.id, std::move(*reply));
    if (!info) co_return info.error();
    if (*info && (*info)->state == JobState::dead) {
      out.push_back(std::move(**info));
      continue;
    }
    std::string to = *info ? index_set_for(std::string(to_string((*info)->state))) : std::string();
    std::string score;
    if (*info && (*info)->state == JobState::waiting) score = std::to_string((*info)->run_at_ms);
    if (*info && (*info)->state == JobState::running) score = std::to_string((*info)->lease_until_ms);
    auto mend = refile(router, scripts, entry.id, "dead", entry.score, std::move(to), std::move(score));
    auto moved = co_await std::move(mend);
    if (!moved) co_return moved.error();
  }
  co_return out;
}

Async<std::optional<JobInfo>> run_get(Router router, std::string id) {
  auto key = job_key(id);
  auto read = send(router, encode_command({"HGETALL", key}), key, Repeat::safe, "get");
  auto reply = co_await std::move(read);
  if (!reply) co_return reply.error();
  co_return decode_get("get", std::move(id), std::move(*reply));
}

// One worker thread's queue, over a cluster router of its own. Methods encode their arguments
// at once and return coroutines that own what they need (the router, the scripts): the queue
// may be destroyed while they wait. Call only from coroutines on the executor it was made for.
class ClusterJobQueue final : public JobQueue {
 public:
  ClusterJobQueue(asio::any_io_executor executor, Router router, ScriptsRef scripts, JobQueueOptions const& options)
      : executor_(std::move(executor)), router_(std::move(router)), scripts_(std::move(scripts)), options_(options) {}

  // As the cluster store's: the connections are closed on the router's own thread.
  ~ClusterJobQueue() override {
    asio::dispatch(executor_, [router = std::move(router_)] { router->close(); });
  }
  ClusterJobQueue(ClusterJobQueue const&) = delete;
  ClusterJobQueue& operator=(ClusterJobQueue const&) = delete;

  std::string_view backend() const override { return "redis-cluster"; }

  Async<Enqueued> enqueue(JobSpec spec) override {
    if (auto valid = validate(spec, options_); !valid) return ready<Enqueued>(valid.error());
    return run_enqueue(router_, scripts_, std::move(spec));
  }

  Async<std::optional<Claim>> claim(std::vector<std::string> types, std::string worker, Millis lease) override {
    return run_claim(router_, scripts_, std::move(types), std::move(worker), lease);
  }

  Async<bool> renew(std::string id, std::int64_t fence, Millis lease) override {
    if (type_of(id).empty()) return ready(Result<bool>{false});
    return change_then_refile(router_, scripts_, &Scripts::renew, std::move(id), {std::to_string(fence), millis(lease)},
                              "renew", "running");
  }

  Async<bool> complete(std::string id, std::int64_t fence) override {
    if (type_of(id).empty()) return ready(Result<bool>{false});
    return change_then_refile(router_, scripts_, &Scripts::complete, std::move(id),
                              {std::to_string(fence), millis(options_.done_ttl)}, "complete", "running");
  }

  Async<bool> fail(std::string id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) override {
    if (type_of(id).empty()) return ready(Result<bool>{false});
    return change_then_refile(router_, scripts_, &Scripts::fail, std::move(id),
                              {std::to_string(fence), std::move(error), retry_in ? millis(*retry_in) : std::string()},
                              "fail", "running");
  }

  Async<std::optional<JobInfo>> get(std::string id) override { return run_get(router_, std::move(id)); }

  Async<JobCounts> counts() override { return run_counts(router_, scripts_); }

  Async<std::vector<JobInfo>> dead_letters(std::size_t limit) override {
    if (limit == 0) return ready(Result<std::vector<JobInfo>>{std::vector<JobInfo>{}});
    return run_dead_letters(router_, scripts_, limit);
  }

  Async<bool> retry_dead(std::string id) override {
    if (type_of(id).empty()) return ready(Result<bool>{false});
    return change_then_refile(router_, scripts_, &Scripts::retry_dead, std::move(id), {}, "retry_dead", "dead",
                              IndexStep::mended_by_listing);
  }

  Async<bool> drop_dead(std::string id) override {
    if (type_of(id).empty()) return ready(Result<bool>{false});
    return change_then_refile(router_, scripts_, &Scripts::drop_dead, std::move(id), {millis(options_.done_ttl)},
                              "drop_dead", "dead");
  }

 private:
  asio::any_io_executor executor_;
  Router router_;
  ScriptsRef scripts_;
  JobQueueOptions options_;
};

class ClusterJobQueueProvider final : public JobQueueProvider {
 public:
  ClusterJobQueueProvider(StoreUrl const& url, StoreOptions const& options, JobQueueOptions const& queue_options)
      : seeds_(redis_cluster::seed_nodes(url)),
        password_(url.password),
        command_timeout_(options.command_timeout),
        options_(queue_options),
        scripts_(std::make_shared<Scripts const>()) {}

  std::string_view backend() const override { return "redis-cluster"; }

  // On the worker thread, once: its own router (slot map, a connection per master), as the
  // cluster store's; it connects on first use.
  std::shared_ptr<JobQueue> queue_for(asio::any_io_executor executor) override {
    auto router = std::make_shared<redis_cluster::ClusterRouter>(executor, seeds_, password_, command_timeout_);
    return std::make_shared<ClusterJobQueue>(std::move(executor), std::move(router), scripts_, options_);
  }

 private:
  std::vector<redis_cluster::NodeAddress> seeds_;
  std::string password_;
  core::Millis command_timeout_;
  JobQueueOptions options_;
  ScriptsRef scripts_;
};

}  // namespace
}  // namespace cluster_jobs

std::unique_ptr<JobQueueProvider> make_redis_cluster_job_queue(StoreUrl const& url, StoreOptions const& options,
                                                               JobQueueOptions const& queue_options) {
  return std::make_unique<cluster_jobs::ClusterJobQueueProvider>(url, options, queue_options);
}

}  // namespace outboard::state
