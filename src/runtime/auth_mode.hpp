#pragma once
// Which credentials a service accepts (`outboard serve --auth`), and who a verified bearer token
// says the caller is. Small on purpose: the request context includes it; the token machinery
// itself is in runtime/token_auth.hpp.
#include <optional>
#include <string>
#include <string_view>

#include "auth/revocation.hpp"

namespace outboard::runtime {

enum class AuthMode {
  cookie,  // session cookies only (the default): an Authorization header is ignored
  jwt,     // bearer access tokens only: a Cookie header is ignored, login sets no cookie
  both,    // either; a request carrying both is the bearer token's user
};

std::optional<AuthMode> parse_auth_mode(std::string_view text);  // "cookie", "jwt", "both"
std::string_view to_string(AuthMode mode);
inline bool accepts_cookies(AuthMode mode) { return mode != AuthMode::jwt; }
inline bool accepts_tokens(AuthMode mode) { return mode != AuthMode::cookie; }

// A request's verified, unrevoked access token.
struct BearerIdentity {
  std::string family;         // `sid`: the refresh family the token was issued in
  auth::AccessClaims claims;  // sub (the user), jti, iat, exp
  std::string const& user() const { return claims.subject; }
};

}  // namespace outboard::runtime
