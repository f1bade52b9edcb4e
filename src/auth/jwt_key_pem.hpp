#pragma once
// Keys to and from their file forms: PEM (PKCS#8 private keys, SubjectPublicKeyInfo public keys)
// and, for HS256, the secret as unpadded base64url text. Also fresh keys, for tests and for the
// lab, which give each run its own (key files are never committed).
#include <string>
#include <string_view>

#include "auth/jwt_key.hpp"

namespace outboard::auth {

// A new random key for `alg` (Ed25519, P-256, RSA 2048, or 32 random bytes for HS256).
core::Result<JwtKey> generate_key(JwsAlg alg, std::string kid);

// From PEM text. A private key yields a key that can sign; a public key one that only verifies.
// Errc::invalid with a short reason (not PEM, not a key of `alg`), never the text.
core::Result<JwtKey> key_from_pem(std::string kid, JwsAlg alg, std::string_view pem);
// HS256 from its file text: base64url (unpadded) of at least 32 bytes.
core::Result<JwtKey> key_from_secret_text(std::string kid, std::string_view text);

// The file text of a key: PKCS#8 PEM of the private key (requires can_sign()), SPKI PEM of the
// public key, or for HS256 the base64url secret (both functions give it).
core::Result<std::string> private_key_text(JwtKey const& key);
core::Result<std::string> public_key_text(JwtKey const& key);

}  // namespace outboard::auth
