#pragma once
// The JWS algorithms outboard signs and verifies (RFC 7518, RFC 8037). A key is bound to one of
// them for its whole life; "none" has no value here, so it cannot be chosen by accident.
#include <optional>
#include <string_view>

namespace outboard::auth {

enum class JwsAlg {
  eddsa,  // Ed25519 (RFC 8037): the default, small fast keys and no nonce to get wrong
  es256,  // ECDSA P-256 + SHA-256, signature as JOSE raw r||s (64 bytes)
  rs256,  // RSASSA-PKCS1-v1_5 + SHA-256, modulus of 2048 bits or more
  hs256,  // HMAC-SHA-256 with a secret of 32 bytes or more; never published in the JWKS
};

// The header spelling: "EdDSA", "ES256", "RS256", "HS256".
std::string_view to_string(JwsAlg alg);
// Exact, case-sensitive match of the header spelling; nullopt for anything else ("none" included).
std::optional<JwsAlg> parse_alg(std::string_view text);

}  // namespace outboard::auth
