#include "state/job_spec.hpp"

#include "state/job_queue.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace outboard::state {
namespace {

bool type_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

core::Error invalid(std::string reason) { return core::make_error(core::Errc::invalid, std::move(reason)); }

}  // namespace

core::Result<void> validate(JobSpec const& spec, JobQueueOptions const& options) {
  if (spec.type.empty() || spec.type.size() > kMaxJobTypeBytes) {
    return invalid("job type must be 1.." + std::to_string(kMaxJobTypeBytes) + " bytes, got " +
                   std::to_string(spec.type.size()));
  }
  // The type is echoed back: safe, since it was just checked to be [a-z0-9_-] only.
  if (!std::all_of(spec.type.begin(), spec.type.end(), type_char)) {
    return invalid("job type may hold only a-z, 0-9, '_' and '-'");
  }
  if (spec.key.empty() || spec.key.size() > kMaxJobKeyBytes) {
    return invalid("job key of type '" + spec.type + "' must be 1.." + std::to_string(kMaxJobKeyBytes) +
                   " bytes, got " + std::to_string(spec.key.size()));
  }
  if (spec.payload.size() > options.max_payload_bytes) {
    return invalid("job payload of type '" + spec.type + "' is " + std::to_string(spec.payload.size()) +
                   " bytes, over the limit of " + std::to_string(options.max_payload_bytes));
  }
  if (spec.delay.count() < 0) return invalid("job delay must not be negative");
  if (spec.delay > kMaxJobDelay) {
    return invalid("job delay must be at most " + std::to_string(kMaxJobDelay.count()) + " ms (366 days), got " +
                   std::to_string(spec.delay.count()));
  }
  if (spec.max_attempts < 1) {
    return invalid("job max_attempts must be at least 1, got " + std::to_string(spec.max_attempts));
  }
  return {};
}

std::int64_t parse_fence(std::optional<std::string> const& text) {
  std::int64_t n = 0;
  if (!text) return 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  return ec == std::errc{} && ptr == text->data() + text->size() ? n : 0;
}

// Here, in outboard_state_api, because every backend (redis's too) names states in its errors.
std::string_view to_string(JobState state) {
  switch (state) {
    case JobState::waiting:
      return "waiting";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::dead:
      break;
  }
  return "dead";
}

// The default: one claim per call. Here beside the other definitions every backend shares.
Async<std::vector<Claim>> JobQueue::claim_batch(std::vector<std::string> types, std::string worker, Millis lease,
                                                std::size_t max) {
  std::vector<Claim> claims;
  if (max == 0) co_return claims;
  auto one = co_await claim(std::move(types), std::move(worker), lease);
  if (!one) co_return one.error();
  if (*one) claims.push_back(std::move(**one));
  co_return claims;
}

Async<CommitOutcome> JobQueue::commit_and_complete(std::string, std::int64_t, std::vector<Condition>,
                                                   std::vector<Write>) {
  co_return core::make_error(core::Errc::invalid, "the " + std::string(backend()) +
                                                      " job queue does not commit and complete in one step");
}

}  // namespace outboard::state
