#pragma once
// Throttling of logins and sign-ups, kept in the data store (shared by every instance), so a
// client cannot spread its guesses over instances behind a balancer. Counters with TTLs:
//   - failed logins per account name (existing or not: treating unknown names alike keeps the
//     throttle from telling which accounts exist): after `account_failures` failures within
//     `failure_window`, the name is locked for `lockout_base`, doubling with every further failure
//     up to `lockout_max`. A success clears the account's count;
//   - failed logins per client address: over `client_failures` within `failure_window`, the
//     client gets 429 until the window ends. Successful logins never count, so many honest users
//     behind one address (a NAT, the lab's gateway) are not throttled for logging in;
//   - sign-ups per client address: at most `signups_per_client` attempts per `signup_window`.
// A limit of 0 turns that check off, and per-client checks skip a client whose address is not
// known (kUnknownClient). A store error is an error (503), never "not throttled".
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "http/message.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

struct ThrottlePolicy {
  std::int64_t account_failures = 5;
  std::int64_t client_failures = 100;
  core::Millis failure_window{15 * 60 * 1000};
  core::Millis lockout_base{60 * 1000};
  core::Millis lockout_max{15 * 60 * 1000};
  std::int64_t signups_per_client = 20;
  core::Millis signup_window{60 * 60 * 1000};
};

// How long an account stays locked after its `failures`-th failure within the window (0: not
// locked): lockout_base at the limit, doubling per failure beyond it, capped at lockout_max.
core::Millis lockout_after(std::int64_t failures, ThrottlePolicy const& policy);

// The 429 answer: {"error": reason, "detail"} and Retry-After in whole seconds (at least 1).
http::Response too_many_requests(std::string_view reason, std::string_view detail, core::Millis wait);

class AuthThrottle {
 public:
  AuthThrottle(state::Store& store, ThrottlePolicy const& policy) : store_(store), policy_(policy) {}

  // How long this login must wait before it may be tried; nullopt when it may go ahead.
  state::Async<std::optional<core::Millis>> login_wait(std::string user, std::string client);
  // After a wrong password or an unknown name: counts for the account and for the client.
  state::Async<void> login_failed(std::string user, std::string client);
  // After a right password: the account's failures are forgotten (the client's are not, or one
  // known password would reset a guesser's count).
  state::Async<void> login_succeeded(std::string user);
  // Counts a sign-up attempt; how long the client must wait when it is over its limit.
  state::Async<std::optional<core::Millis>> signup_wait(std::string client);

 private:
  // Adds one to a counter whose TTL starts with its first count; the new value.
  state::Async<std::int64_t> count(std::string key, core::Millis window);
  static bool limit_clients(std::int64_t limit, std::string const& client);
  // The remaining TTL of `key` when it exists, nullopt when it does not. A key found without a
  // TTL (its process died between the count and the expire) is given `window`.
  state::Async<std::optional<core::Millis>> remaining(std::string key, core::Millis window);

  state::Store& store_;
  ThrottlePolicy const& policy_;
};

}  // namespace outboard::runtime
