#include "runtime/throttle.hpp"

#include <algorithm>
#include <charconv>

#include "runtime/client_address.hpp"

namespace outboard::runtime {
namespace {

using core::Millis;

// Keys: one account's keys share a "{tag}" (one Redis Cluster slot for its counter and lock).
std::string account_failures_key(std::string const& user) { return "throttle:{acct:" + user + "}:failures"; }
std::string account_lock_key(std::string const& user) { return "throttle:{acct:" + user + "}:lock"; }
std::string client_failures_key(std::string const& client) { return "throttle:client:" + client + ":login_failures"; }
std::string client_signups_key(std::string const& client) { return "throttle:client:" + client + ":signups"; }

std::int64_t parse_count(std::optional<std::string> const& text) {
  std::int64_t value = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

}  // namespace

Millis lockout_after(std::int64_t failures, ThrottlePolicy const& policy) {
  if (policy.account_failures <= 0 || failures < policy.account_failures) return Millis(0);
  Millis lock = policy.lockout_base;
  // Doubling stops once past the cap (and long before the shift could overflow).
  for (std::int64_t extra = failures - policy.account_failures; extra > 0 && lock < policy.lockout_max; --extra) {
    lock *= 2;
  }
  return std::min(lock, policy.lockout_max);
}

http::Response too_many_requests(std::string_view reason, std::string_view detail, Millis wait) {
  auto res = http::json_error(http::Status::too_many_requests, reason, detail);
  std::int64_t seconds = std::max<std::int64_t>(1, (wait.count() + 999) / 1000);
  res.set(http::bhttp::field::retry_after, std::to_string(seconds));
  return res;
}

bool AuthThrottle::limit_clients(std::int64_t limit, std::string const& client) {
  return limit > 0 && client != kUnknownClient;
}

state::Async<std::int64_t> AuthThrottle::count(std::string key, Millis window) {
  auto value = co_await store_.incr_by(key, 1);
  if (!value) co_return value.error();
  // The window starts with the first count. (Were the process to die between the two calls, the
  // counter would be left without a TTL; remaining() gives it one when it finds it so.)
  if (*value == 1) {
    if (auto set = co_await store_.expire(key, window); !set) co_return set.error();
  }
  co_return *value;
}

state::Async<std::optional<Millis>> AuthThrottle::remaining(std::string key, Millis window) {
  auto ttl = co_await store_.pttl(key);
  if (!ttl) co_return ttl.error();
  if (*ttl == state::kNoKey) co_return std::optional<Millis>{};
  if (*ttl == state::kNoExpiry) {
    // A counter that lost its TTL would block forever: it gets a whole window from now.
    if (auto set = co_await store_.expire(key, window); !set) co_return set.error();
    co_return std::optional<Millis>{window};
  }
  co_return std::optional<Millis>{Millis(*ttl)};
}

state::Async<std::optional<Millis>> AuthThrottle::login_wait(std::string user, std::string client) {
  if (limit_clients(policy_.client_failures, client)) {
    std::string key = client_failures_key(client);
    auto failures = co_await store_.get(key);
    if (!failures) co_return failures.error();
    if (parse_count(*failures) >= policy_.client_failures) {
      auto wait = co_await remaining(key, policy_.failure_window);
      if (!wait) co_return wait.error();
      if (*wait) co_return wait;
    }
  }
  if (policy_.account_failures > 0) {
    auto wait = co_await remaining(account_lock_key(user), policy_.lockout_base);
    if (!wait) co_return wait.error();
    if (*wait) co_return wait;
  }
  co_return std::optional<Millis>{};
}

state::Async<void> AuthThrottle::login_failed(std::string user, std::string client) {
  if (limit_clients(policy_.client_failures, client)) {
    auto counted = co_await count(client_failures_key(client), policy_.failure_window);
    if (!counted) co_return counted.error();
  }
  if (policy_.account_failures > 0) {
    std::string key = account_failures_key(user);
    auto failures = co_await store_.incr_by(key, 1);
    if (!failures) co_return failures.error();
    Millis lock = lockout_after(*failures, policy_);
    // The count outlives the lock by a window, so the next failure after it locks for longer.
    if (auto kept = co_await store_.expire(key, policy_.failure_window + lock); !kept) co_return kept.error();
    if (lock.count() > 0) {
      if (auto locked = co_await store_.set(account_lock_key(user), "1", lock); !locked) co_return locked.error();
    }
  }
  co_return state::Result<void>{};
}

state::Async<void> AuthThrottle::login_succeeded(std::string user) {
  if (policy_.account_failures <= 0) co_return state::Result<void>{};
  auto cleared = co_await store_.del(account_failures_key(user));
  if (!cleared) co_return cleared.error();
  co_return state::Result<void>{};
}

state::Async<std::optional<Millis>> AuthThrottle::signup_wait(std::string client) {
  if (!limit_clients(policy_.signups_per_client, client)) co_return std::optional<Millis>{};
  std::string key = client_signups_key(client);
  auto attempts = co_await count(key, policy_.signup_window);
  if (!attempts) co_return attempts.error();
  if (*attempts <= policy_.signups_per_client) co_return std::optional<Millis>{};
  co_return co_await remaining(key, policy_.signup_window);
}

}  // namespace outboard::runtime
