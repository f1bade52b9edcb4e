#include "auth/revocation.hpp"

#include <charconv>

namespace outboard::auth {

std::string_view to_string(AccessVerdict verdict) {
  switch (verdict) {
    case AccessVerdict::valid: return "valid";
    case AccessVerdict::token_revoked: return "token_revoked";
    case AccessVerdict::user_revoked: return "user_revoked";
  }
  return "valid";
}

std::string denied_token_key(std::string_view jti) { return "rvj:" + std::string(jti); }
std::string user_not_before_key(std::string_view user) { return "rvu:{" + std::string(user) + "}"; }
std::string ended_login_key(std::string_view family) { return "rvf:{" + std::string(family) + "}"; }

Revocation::Revocation(state::Store& store, core::Clock const& clock, RevocationPolicy const& policy)
    : store_(store), clock_(clock), policy_(policy) {}

state::Async<void> Revocation::revoke_token(AccessClaims const& claims) {
  std::int64_t left = claims.expires_at_ms + policy_.leeway.count() - clock_.now_ms();
  if (left <= 0) co_return state::Result<void>{};  // refused by its exp already, everywhere
  if (claims.family.empty()) co_return co_await store_.set(denied_token_key(claims.jti), "1", core::Millis(left));
  // Tokens of this login minted later than the presented one live at most one lifetime more.
  core::Millis keep = policy_.access_lifetime + policy_.leeway;
  co_return co_await store_.set(ended_login_key(claims.family), "1", keep);
}

state::Async<void> Revocation::revoke_user(std::string const& user) {
  // Overwritten, not maximised: a later call has a later clock, up to the skew between
  // instances, which bounds what any time-based rule can promise anyway.
  core::Millis keep = policy_.access_lifetime + policy_.leeway;
  co_return co_await store_.set(user_not_before_key(user), std::to_string(clock_.now_ms()), keep);
}

state::Async<AccessVerdict> Revocation::check(AccessClaims const& claims) {
  // The user's entry first: one key per user, the hottest and the one most likely cached.
  auto not_before = co_await store_.get(user_not_before_key(claims.subject));
  if (!not_before) co_return not_before.error();
  if (*not_before) {
    std::int64_t at = 0;
    auto const& text = **not_before;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), at);
    if (ec != std::errc{} || p != text.data() + text.size()) {
      co_return core::make_error(core::Errc::internal, "damaged not-before record for a user");
    }
    // "At or before": with a seconds-precision iat, a token issued in the same second as the
    // logout-all is refused too (the client refreshes or logs in again): never one too few.
    if (claims.issued_at_ms <= at) co_return AccessVerdict::user_revoked;
  }
  // Named before the co_await: a ?: temporary inside it is destroyed twice by g++ 12.
  std::string const key = claims.family.empty() ? denied_token_key(claims.jti) : ended_login_key(claims.family);
  auto denied = co_await store_.get(key);
  if (!denied) co_return denied.error();
  co_return *denied ? AccessVerdict::token_revoked : AccessVerdict::valid;
}

}  // namespace outboard::auth
