#pragma once
// What the job queues of redis:// (redis_job_queue.cpp) and redis-cluster://
// (redis_cluster/cluster_job_queue.cpp) share about keys and Lua scripts: one definition of the
// key names, of the script prelude, and of how a script is sent (EVALSHA, then EVAL once on
// NOSCRIPT). Their scripts differ (a cluster runs a script only on keys of one slot).
#include <string>
#include <string_view>
#include <vector>

#include "state/redis/lua_script.hpp"
#include "state/redis/resp.hpp"
#include "state/store.hpp"

namespace outboard::state::redis_jobs {

// --- keys (the names the prelude's Lua functions build too) ---

// The job's hash, "job:{<id>}": tagged by the id, like state::fence_key(id), so both share a slot.
std::string job_key(std::string_view id);
// One of the type's sets ("waiting", "running", "dead"), "jobs:{<type>}:<which>".
std::string type_key(std::string_view type, std::string_view which);
// The type part of an id ("<type>:<key>", a type has no ':'); empty for a string that is no job id.
std::string_view type_of(std::string_view id);
std::string millis(Millis ms);

// --- scripts ---

using redis_lua::is_noscript;  // Redis does not know the script: send EVAL
using redis_lua::Script;       // its text is the prelude, then the body

// A script whose body may use the prelude's functions: now_ms() (Redis's clock, TIME), int(n)
// (an integer as a decimal string), job_key(id), fence_key(id), type_key(type, which) and
// holds(job_key, fence) (the job is running under this very claim) and mark_done(job_key,
// fence_key, running_set, id, done_ttl_ms). Start-up only: throws
// std::runtime_error when OpenSSL has no SHA1.
Script make_script(std::string_view body);

// `verb` ("EVALSHA" with the sha, or "EVAL" with the text) with the keys and arguments, encoded.
std::string encode_eval(std::string_view verb, std::string_view script_arg, std::vector<std::string> const& keys,
                        std::vector<std::string> const& args);

}  // namespace outboard::state::redis_jobs
