#pragma once
// Refresh token families on the state store (docs/AUTH.md, "Refresh tokens and revocation").
//
// One login is one family: a hash `rtf:{F}` (user, created, expires, and `ended` once it is
// over), one hash `rtt:{F}:<sha256 of the secret>` per token ever issued in it (issued, and
// `used` once it was rotated), and the user's index `rtu:{user}` (family -> expires) so that
// "log out everywhere" can find every family. Nothing raw is stored: tokens only as digests.
//
// Rotation is ONE conditional write: "the family has exactly its 3 fields (exists, not ended)
// and the token's hash has exactly 1 field (issued, never used)" -> mark it used and create its
// successor. Whoever loses that race, or comes later, reads what happened: a token used less than
// `grace` ago gets the very same successor (derived, not stored: refresh_token.hpp), so two
// requests racing with one token both succeed in one family; used longer ago, it is a replayed
// token (stolen, or a client gone wrong) and the whole family is ended, logged and counted.
//
// Every call is a coroutine on the caller's executor; a store error comes back as the store's
// Error (unavailable/timeout: a 503 upstream), never as a refusal, which would log someone out.
#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/refresh_token.hpp"
#include "core/clock.hpp"
#include "state/store.hpp"

namespace outboard::auth {

struct RefreshPolicy {
  // A family's absolute lifetime: its tokens stop working this long after the login.
  core::Millis family_lifetime{30LL * 24 * 60 * 60 * 1000};
  // A token used again within this time of its rotation gets the same successor (racing
  // requests of one client); after it, the reuse ends the family.
  core::Millis grace{10'000};
  // How long a family's records outlive its expiry or end, so a late use is answered
  // `expired` or `ended` rather than `unknown`, and a replayed old token is still recognised.
  core::Millis linger{60LL * 60 * 1000};
};

// Why a refresh token was refused (each a 401 upstream; the reason is for logs and metrics).
enum class RefreshRefusal {
  malformed,  // not a refresh token's syntax
  unknown,    // no such token in a live family (never issued, forged, or long expired)
  expired,    // the family's lifetime is over
  ended,      // the family was ended: logout, log-out-everywhere, or an earlier reuse
  reused,     // this token was rotated longer than `grace` ago: the family is ended now
};
std::string_view to_string(RefreshRefusal refusal);

struct IssuedRefresh {
  std::string token;       // for the client only: never stored, never logged
  std::string family;      // not secret
  std::string user;
  std::int64_t expires_ms = 0;  // the family's end
};

using RotateOutcome = std::variant<IssuedRefresh, RefreshRefusal>;

// Counts since start, shared by every thread's RefreshFamilies (relaxed atomics).
struct RefreshCounters {
  std::atomic<std::uint64_t> issued{0};
  std::atomic<std::uint64_t> rotated{0};         // conditional writes won
  std::atomic<std::uint64_t> grace_replays{0};   // racers given the successor another request made
  std::atomic<std::uint64_t> reuse_revocations{0};  // families ended because a token came back late
  std::atomic<std::uint64_t> refused{0};         // every other refusal (reused included when another request ended the family)
};

class RefreshFamilies {
 public:
  // Everything is borrowed and must outlive this object; `log` receives the reuse lines
  // (spdlog's default logger when null).
  RefreshFamilies(state::Store& store, core::Clock const& clock, RefreshKey const& key, RefreshPolicy const& policy,
                  RefreshCounters& counters, std::shared_ptr<spdlog::logger> log = nullptr);

  // A login: a new family for `user` and its first token.
  state::Async<IssuedRefresh> issue(std::string user);
  // Exchanges a token for its successor, or says why not.
  state::Async<RotateOutcome> rotate(std::string token);
  // Logout: ends the token's family. False when there was nothing to end (unknown, already
  // ended or expired); a malformed token is simply false.
  state::Async<bool> end_family(std::string token);
  // Logout with an access token: ends family `family` (the token's `sid`) when it belongs to
  // `user` (its `sub`). Only for ids taken from a verified access token, whose signature is the
  // proof a refresh token gives end_family(); a family id from a log line never gets here.
  state::Async<bool> end_family_of(std::string family, std::string user);
  // Log out everywhere: ends every family of `user`; returns how many were live.
  state::Async<std::size_t> end_all_families(std::string user);

 private:
  struct Family;
  state::Async<std::optional<Family>> read_family(std::string const& family);
  state::Async<std::optional<RotateOutcome>> rotate_once(RefreshToken const& token);
  state::Async<std::optional<RotateOutcome>> after_lost_race(RefreshToken const& token, Family const& family);
  RotateOutcome refuse(RefreshRefusal why);
  state::Async<bool> end(std::string const& family, std::string_view reason);
  state::Async<void> forget_in_index(std::string const& user, std::string const& family);
  core::Millis record_ttl(std::int64_t expires_ms) const;

  state::Store& store_;
  core::Clock const& clock_;
  RefreshKey const& key_;
  RefreshPolicy const& policy_;
  RefreshCounters& counters_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace outboard::auth
