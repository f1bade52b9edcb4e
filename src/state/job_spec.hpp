#pragma once
// The limits of a JobSpec (state/job_queue.hpp), checked in one place for every backend, so
// memory, sqlite and redis refuse exactly the same specs with the same reasons.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "state/job_queue.hpp"

namespace outboard::state {

inline constexpr std::size_t kMaxJobTypeBytes = 64;
inline constexpr std::size_t kMaxJobKeyBytes = 200;
// Far enough for any schedule; bounded so that now + delay fits every backend's clock arithmetic
// (a Lua number, a SQL bigint) instead of overflowing into a job due at once, or never.
inline constexpr core::Millis kMaxJobDelay = std::chrono::days(366);

// Errc::invalid with a reason naming the field and the limit (never the payload's bytes) when
// the type is not 1..64 bytes of [a-z0-9_-], the key is not 1..200 bytes, the payload is over
// options.max_payload_bytes, the delay is negative or over kMaxJobDelay, or max_attempts is below 1.
core::Result<void> validate(JobSpec const& spec, JobQueueOptions const& options);

// A fence key's value as a number: 0 when there is none or it is not a decimal number. What a
// new job of an id starts from, so fences keep growing per id across forgotten jobs.
std::int64_t parse_fence(std::optional<std::string> const& text);

}  // namespace outboard::state
