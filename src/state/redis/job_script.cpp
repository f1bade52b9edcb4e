#include "state/redis/job_script.hpp"

namespace outboard::state::redis_jobs {
namespace {

// Prepended to every script. now_ms is Redis's clock: allowed before writes since Redis 5's
// effect replication, the only mode of Redis 7.
constexpr std::string_view kPrelude = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function job_key(id) return 'job:{' .. id .. '}' end
local function fence_key(id) return job_key(id) .. ':fence' end
local function type_key(t, which) return 'jobs:{' .. t .. '}:' .. which end
-- The job is running under this very claim.
local function holds(key, fence)
  local job = redis.call('HMGET', key, 'state', 'fence')
  return job[1] == 'running' and tonumber(job[2]) == tonumber(fence)
end
-- Done: off the running set; the hash (a re-enqueue is a duplicate until then) and the fence key
-- kept for done_ttl ms.
local function mark_done(key, fence_key_, running, id, done_ttl)
  redis.call('HSET', key, 'state', 'done', 'lease_until', 0)
  redis.call('ZREM', running, id)
  redis.call('PEXPIRE', key, done_ttl)
  redis.call('PEXPIRE', fence_key_, done_ttl)
end
)lua";

}  // namespace

std::string job_key(std::string_view id) { return "job:{" + std::string(id) + "}"; }

std::string type_key(std::string_view type, std::string_view which) {
  return "jobs:{" + std::string(type) + "}:" + std::string(which);
}

std::string_view type_of(std::string_view id) {
  auto colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view() : id.substr(0, colon);
}

std::string millis(Millis ms) { return std::to_string(ms.count()); }

Script make_script(std::string_view body) {
  std::string text(kPrelude);
  text += body;
  return redis_lua::make_lua_script(std::move(text));
}

std::string encode_eval(std::string_view verb, std::string_view script_arg, std::vector<std::string> const& keys,
                        std::vector<std::string> const& args) {
  std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> parts{verb, script_arg, key_count};
  parts.insert(parts.end(), keys.begin(), keys.end());
  parts.insert(parts.end(), args.begin(), args.end());
  return encode_command(parts);
}

}  // namespace outboard::state::redis_jobs
