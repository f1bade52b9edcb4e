#include "state/redis/job_reply.hpp"

#include <charconv>
#include <utility>

#include "state/redis/redis_reply.hpp"

namespace outboard::state::redis_jobs {
namespace {

bool starts_with(std::string const& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

std::optional<JobState> parse_state(std::string_view s) {
  for (JobState state : {JobState::waiting, JobState::running, JobState::done, JobState::dead}) {
    if (to_string(state) == s) return state;
  }
  return std::nullopt;
}

}  // namespace

Error bad_reply(std::string_view op, std::string const& detail) {
  return core::make_error(Errc::unavailable, "redis job queue " + std::string(op) + ": unexpected reply: " + detail);
}

Error error_reply(std::string_view op, Reply const& reply) {
  for (std::string_view transient : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"}) {
    if (starts_with(reply.str, transient)) {
      return core::make_error(Errc::unavailable, "redis job queue " + std::string(op) + ": " + reply.str);
    }
  }
  return redis_reply::to_error("job queue " + std::string(op), reply);
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

namespace {

// A job hash (HGETALL) as JobInfo: every field must be there and well formed.
Result<JobInfo> decode_info(std::string_view op, std::string id, FieldMap const& fields) {
  auto text = [&](char const* name) -> std::string const* {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  };
  auto number = [&](char const* name) -> std::optional<std::int64_t> {
    auto const* value = text(name);
    return value ? parse_int(*value) : std::nullopt;
  };
  JobInfo info;
  info.id = std::move(id);
  for (auto [name, out] : {std::pair{"type", &info.type}, {"key", &info.key}, {"payload", &info.payload},
                           {"last_error", &info.last_error}, {"worker", &info.worker}}) {
    auto const* value = text(name);
    if (!value) return bad_reply(op, "job " + info.id + " has no field '" + name + "'");
    *out = *value;
  }
  auto const* state_text = text("state");
  auto state = state_text ? parse_state(*state_text) : std::nullopt;
  if (!state) return bad_reply(op, "job " + info.id + ": field 'state' missing or unknown");
  info.state = *state;
  auto attempts = number("attempts");
  auto max_attempts = number("max_attempts");
  auto fence = number("fence");
  auto run_at = number("run_at");
  auto lease_until = number("lease_until");
  if (!attempts || !max_attempts || !fence || !run_at || !lease_until) {
    return bad_reply(op, "job " + info.id + ": a numeric field is missing or not a number");
  }
  info.attempts = static_cast<int>(*attempts);
  info.max_attempts = static_cast<int>(*max_attempts);
  info.fence = *fence;
  info.run_at_ms = *run_at;
  info.lease_until_ms = *lease_until;
  return info;
}

}  // namespace

Result<std::optional<JobInfo>> decode_get(std::string_view op, std::string id, Reply&& reply) {
  auto fields = redis_reply::field_map(op, std::move(reply));
  if (!fields) return bad_reply(op, fields.error().context);
  if (fields->empty()) return std::optional<JobInfo>{};
  auto info = decode_info(op, std::move(id), *fields);
  if (!info) return info.error();
  return std::optional<JobInfo>{std::move(*info)};
}

Result<bool> decode_flag(std::string_view op, Reply&& reply) {
  if (reply.type != Reply::Type::integer) return bad_reply(op, "not an integer");
  return reply.integer != 0;
}

namespace {

// {id, type, key, payload, fence, attempt, max_attempts, last_error}
Result<Claim> decode_one_claim(std::string_view op, Reply&& reply) {
  auto& e = reply.elements;
  using T = Reply::Type;
  if (reply.type != T::array || e.size() != 8) return bad_reply(op, "not an array of 8");
  for (std::size_t i : {0, 1, 2, 3, 7}) {
    if (e[i].type != T::string) return bad_reply(op, "element " + std::to_string(i) + " is not a string");
  }
  for (std::size_t i : {4, 5, 6}) {
    if (e[i].type != T::integer) return bad_reply(op, "element " + std::to_string(i) + " is not an integer");
  }
  return Claim{std::move(e[0].str), std::move(e[1].str), std::move(e[2].str), std::move(e[3].str),
               e[4].integer, static_cast<int>(e[5].integer), static_cast<int>(e[6].integer), std::move(e[7].str)};
}

}  // namespace

Result<std::optional<Claim>> decode_claim(std::string_view op, Reply&& reply) {
  if (reply.type == Reply::Type::nil) return std::optional<Claim>{};
  auto claim = decode_one_claim(op, std::move(reply));
  if (!claim) return claim.error();
  return std::optional<Claim>{std::move(*claim)};
}

Result<std::vector<Claim>> decode_claims(std::string_view op, Reply&& reply) {
  std::vector<Claim> claims;
  if (reply.type == Reply::Type::nil) return claims;
  if (reply.type != Reply::Type::array) return bad_reply(op, "not an array of claims");
  claims.reserve(reply.elements.size());
  for (Reply& item : reply.elements) {
    auto claim = decode_one_claim(op, std::move(item));
    if (!claim) return claim.error();
    claims.push_back(std::move(*claim));
  }
  return claims;
}

}  // namespace outboard::state::redis_jobs
