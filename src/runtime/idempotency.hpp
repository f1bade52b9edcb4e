#pragma once
// Idempotency keys, after the IETF httpapi Idempotency-Key draft and Stripe's behaviour:
//   - the key is checked for format and scoped to the user: two users may use the same key;
//   - the claim is atomic in the store (set-if-absent), so when two instances race on one key,
//     exactly one runs the handler;
//   - the first answer's status, the headers that matter and the body are kept (24 h default);
//     a replay gets them unchanged, marked "Idempotent-Replayed: true";
//   - while the first request is still running, the same key gets 409;
//   - the same key with another request (method, path, query string or body) gets 422;
//   - a handler that fails with a 5xx releases the claim so a retry may run; the caller calls
//     finish() only after the handler's writes and the session commit, so a commit that fails
//     (a 5xx) releases the claim too and never leaves a 2xx recorded for a request that failed.
// A claim is a lease: if the instance running it dies, the key unlocks after `lease` and a
// retry runs the handler again. Handlers behind idempotency are written to be safe to re-run
// (checkout derives the order id from the key), so that never duplicates anything.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "http/message.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

struct IdempotencyPolicy {
  core::Millis retention{24 * 60 * 60 * 1000};
  core::Millis lease{30 * 1000};
  // false: keys are checked for format but never claimed or recorded; every delivery of a
  // request runs its handler, with an id of its own. The lab's `retry-unsafe` design runs
  // this way to show what retries cost without deduplication; nobody should in production.
  bool enabled = true;
};

// A reason when the header value is not a usable key (1-255 printable ASCII characters).
std::optional<std::string> check_idempotency_key(std::string_view key);

// sha256 of what makes two requests "the same": method, target (path and query) and body.
std::string request_fingerprint(http::Request const& request);

class IdempotentCall {
 public:
  // claim_token makes this claim's "running" record unique, so that finish() swaps only its own
  // claim; it must differ from every other claim's (a random prefix and a counter will do);
  // empty: a random one.
  IdempotentCall(state::Store& store, IdempotencyPolicy const& policy, std::string const& user,
                 std::string_view key, std::string fingerprint, std::string claim_token = {});

  // The outcome of claiming the key.
  struct Proceed {};                 // ours: run the handler, then finish()
  using Answer = http::Response;     // replay, 409 or 422: send this instead of running
  using Outcome = std::variant<Proceed, Answer>;
  state::Async<Outcome> begin();

  // Records the handler's answer (or releases the claim on a 5xx). A failure to record is
  // reported but the response still goes out: the handler's effects are already made.
  state::Async<void> finish(http::Response const& response);

  // A stable id derived from user and key (for handlers that make one thing per key).
  std::string const& derived_id() const { return derived_id_; }

 private:
  state::Store& store_;
  IdempotencyPolicy const& policy_;
  std::string record_key_;
  std::string fingerprint_;
  std::string derived_id_;
  std::string running_record_;
};

}  // namespace outboard::runtime
