#pragma once
// Verifying access tokens with no store round trip: parse strictly, read the header, find the key
// by exact kid, require the header's alg to be the key's own, check the signature, then parse and
// check the claims. The order matters: nothing from the payload is parsed before the signature
// verified, and nothing the token says chooses an algorithm.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/jwt_claims.hpp"
#include "auth/jwt_compact.hpp"
#include "auth/jwt_key_set.hpp"
#include "core/clock.hpp"

namespace outboard::auth {

// kid comes first on purpose: an aggregate whose first member is a json would be constructible
// from a JwtReject (json takes anything), and JwtResult could not tell rejection from value.
struct VerifiedToken {
  std::string kid;
  JwsAlg alg;
  nlohmann::json claims;
};

// The signature layer alone, against one given key: compact parse, header alg equal to the key's
// alg, signature valid; returns the payload bytes. No kid, typ, crit or claim rules: for checking
// published examples (RFC 7515 appendix A, RFC 8037) and for the full verifier to build on.
JwtResult<std::string> verify_signature(std::string_view token, JwtKey const& key);

class JwtVerifier {
 public:
  // Throws std::invalid_argument (start-up only) when the issuer or audience is empty or the
  // leeway is negative or over kMaxLeeway. `clock` must outlive the verifier.
  JwtVerifier(std::shared_ptr<KeySet const> keys, ClaimsPolicy policy, core::Clock const& clock);

  // Thread-safe (everything it reads is immutable). Cost: one signature check plus parsing a
  // token of at most kMaxTokenBytes.
  JwtResult<VerifiedToken> verify(std::string_view token) const;

 private:
  std::shared_ptr<KeySet const> keys_;
  ClaimsPolicy policy_;
  core::Clock const& clock_;
};

}  // namespace outboard::auth
