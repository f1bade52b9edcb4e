#pragma once
// Revocation of access tokens (docs/AUTH.md, "Refresh tokens and revocation"): the little state
// that makes a signed, self-contained token revocable before it expires.
//
//   rvf:{family}  the login (refresh family, the token's `sid`) a logout ended: every access
//                 token of that login is refused, not only the one presented (RFC 7009 2.1:
//                 revoking a grant invalidates its access tokens); kept for one access-token
//                 lifetime (plus leeway), after which every such token has expired by itself.
//   rvj:<jti>     a denylist entry for one token without a family, kept until the token would
//                 have expired anyway (its exp, plus the verifier's leeway).
//   rvu:{user}    the user's not-before time in ms (log out everywhere, password change): every
//                 token issued at or before it is refused; kept for one access-token lifetime
//                 (plus leeway), after which every such token has expired by itself.
//
// check() reads two of them (the user's, then the family's or the jti's) with plain GETs: on redis with the near-cache on, GET is a cached read
// (a missing key, the usual answer, is cached too), so a check costs no round trip once the keys
// are warm, and another instance's revocation evicts them through CLIENT TRACKING (docs/STATE.md).
// A store error is returned as the store's Error (a 503 upstream): never "valid", never "revoked".
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "state/store.hpp"

namespace outboard::auth {

// What revocation needs from a verified access token.
struct AccessClaims {
  std::string subject;              // sub: the user
  std::string jti;                  // the token's id
  std::int64_t issued_at_ms = 0;    // iat; a seconds-precision iat is given as iat * 1000
  std::int64_t expires_at_ms = 0;   // exp
  std::string family;               // sid: the login it belongs to ("" for a token without one)
};

struct RevocationPolicy {
  core::Millis access_lifetime{15 * 60 * 1000};  // what access tokens are issued for
  core::Millis leeway{30'000};                   // the verifier's allowance on exp
};

enum class AccessVerdict {
  valid,
  token_revoked,  // its login was logged out (its family, or its jti when it has no family)
  user_revoked,   // issued at or before the user's not-before time (logout-all, password change)
};
std::string_view to_string(AccessVerdict verdict);

class Revocation {
 public:
  // Borrowed; all must outlive this object.
  Revocation(state::Store& store, core::Clock const& clock, RevocationPolicy const& policy);

  // Logout: this token and every other access token of its login are refused until they expire.
  // Nothing is written for a token that has expired already (beyond the leeway).
  state::Async<void> revoke_token(AccessClaims const& claims);
  // Log out everywhere / password change: every token of `user` issued until now is refused.
  state::Async<void> revoke_user(std::string const& user);
  state::Async<AccessVerdict> check(AccessClaims const& claims);

 private:
  state::Store& store_;
  core::Clock const& clock_;
  RevocationPolicy const& policy_;
};

// The store keys (for tests and operators).
std::string denied_token_key(std::string_view jti);
std::string ended_login_key(std::string_view family);
std::string user_not_before_key(std::string_view user);

}  // namespace outboard::auth
