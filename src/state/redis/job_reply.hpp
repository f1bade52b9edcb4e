#pragma once
// Decoding the replies of the redis job queues' scripts and reads, shared by redis:// and
// redis-cluster:// (one job hash layout, one claim reply). Pure functions over Reply.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/job_queue.hpp"
#include "state/redis/resp.hpp"
#include "state/store.hpp"

namespace outboard::state::redis_jobs {

// A reply of the wrong shape: Errc::unavailable ("redis job queue OP: unexpected reply: ...").
Error bad_reply(std::string_view op, std::string const& detail);

// An error reply. Those a Redis gives while it cannot serve yet (LOADING, BUSY, MASTERDOWN,
// TRYAGAIN) are Errc::unavailable, as a dropped connection is; the rest map as the store's do.
Error error_reply(std::string_view op, Reply const& reply);

std::optional<std::int64_t> parse_int(std::string_view s);

// HGETALL of a job hash: nullopt for no hash; every field must be there and well formed.
Result<std::optional<JobInfo>> decode_get(std::string_view op, std::string id, Reply&& reply);

// A script's 0 / 1.
Result<bool> decode_flag(std::string_view op, Reply&& reply);

// nil, or {id, type, key, payload, fence, attempt, max_attempts, last_error}.
Result<std::optional<Claim>> decode_claim(std::string_view op, Reply&& reply);
// An array of such claims (empty for none; nil is read as none too).
Result<std::vector<Claim>> decode_claims(std::string_view op, Reply&& reply);

}  // namespace outboard::state::redis_jobs
