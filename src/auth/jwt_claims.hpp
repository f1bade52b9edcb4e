#pragma once
// The registered claims every access token must pass (RFC 7519 section 4.1), checked after the
// signature: a pure function of the claims, the policy and the time, tested with plain values.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt_reject.hpp"

namespace outboard::auth {

// Clocks of issuers and verifiers drift; the leeway forgives that much on exp, nbf and iat. It is
// bounded, because every second of it is a second a stolen expired token still works.
inline constexpr std::chrono::seconds kDefaultLeeway{30};
inline constexpr std::chrono::seconds kMaxLeeway{120};

struct ClaimsPolicy {
  std::string issuer;    // iss must equal it
  std::string audience;  // aud (a string, or an array of strings) must contain it
  std::chrono::seconds leeway = kDefaultLeeway;
};

// exp required (a number, seconds since the epoch, fractions allowed) and now < exp + leeway;
// nbf and iat optional, now + leeway >= each; iss and aud required and matching. A registered
// claim of the wrong JSON type is claim_invalid.
JwtResult<void> check_claims(nlohmann::json const& claims, ClaimsPolicy const& policy, std::int64_t now_ms);

}  // namespace outboard::auth
