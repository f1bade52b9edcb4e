#pragma once
// Keys and claims for the auth tests. Keys are generated at test time (never committed); RSA
// generation costs tens of milliseconds, so each algorithm's key is made once per test binary.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt_key_pem.hpp"

namespace outboard::auth::jwt_testing {

inline constexpr char kIssuer[] = "https://outboard.test";
inline constexpr char kAudience[] = "shop";

inline JwtKey fresh_key(JwsAlg alg, std::string kid) {
  auto key = generate_key(alg, std::move(kid));
  if (!key) throw std::runtime_error("test key generation failed: " + key.error().context);
  return std::move(*key);
}

// One key per algorithm for the whole binary, named "<alg>-1" (read-only after first use).
inline JwtKey const& shared_key(JwsAlg alg) {
  static JwtKey const eddsa = fresh_key(JwsAlg::eddsa, "EdDSA-1");
  static JwtKey const es256 = fresh_key(JwsAlg::es256, "ES256-1");
  static JwtKey const rs256 = fresh_key(JwsAlg::rs256, "RS256-1");
  static JwtKey const hs256 = fresh_key(JwsAlg::hs256, "HS256-1");
  switch (alg) {
    case JwsAlg::eddsa: return eddsa;
    case JwsAlg::es256: return es256;
    case JwsAlg::rs256: return rs256;
    case JwsAlg::hs256: return hs256;
  }
  return eddsa;
}

// Claims that pass the test policy at `now_ms`: 15 minutes of life, issued now.
inline nlohmann::json good_claims(std::int64_t now_ms) {
  std::int64_t const now_s = now_ms / 1000;
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "alice"}, {"iat", now_s},
          {"nbf", now_s},   {"exp", now_s + 900}, {"jti", "t-1"}};
}

}  // namespace outboard::auth::jwt_testing
