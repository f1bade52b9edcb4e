#pragma once
// JSON Web Keys (RFC 7517): the public half of a KeySet as the JWKS served at
// /.well-known/jwks.json, and keys read from a JWK (the RFC examples, other issuers' keys).
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt_key_set.hpp"

namespace outboard::auth {

// {"keys":[...]}: one entry per asymmetric key with kid, alg, use "sig" and its public numbers.
// HS256 keys are never published: their "public" part is the secret.
nlohmann::json jwks_json(KeySet const& keys);
// The JWK of one asymmetric key's public part; Errc::invalid for HS256.
core::Result<nlohmann::json> public_jwk(JwtKey const& key);

// A verification key from a JWK's public members (OKP/Ed25519 x; EC/P-256 x, y; RSA n, e; oct k
// for HS256), bound to `alg`, named `kid`. Private members are ignored: the key only verifies
// (an oct key, being a secret, also signs).
core::Result<JwtKey> key_from_jwk(nlohmann::json const& jwk, std::string kid, JwsAlg alg);

}  // namespace outboard::auth
