#include "auth/jwt_verifier.hpp"

#include <stdexcept>

#include "auth/jwt_header.hpp"
#include "auth/jwt_json.hpp"

namespace outboard::auth {

namespace {

// The header's alg must be the key's: a key is used with its one algorithm or not at all, so an
// RS256 public key can never be fed to HMAC as a secret (the RS/HS confusion).
JwtResult<void> check_signature(JwsParts const& parts, JwsAlg header_alg, JwtKey const& key) {
  if (header_alg != key.alg()) return JwtReject::alg_mismatch;
  if (!key.verify(parts.signing_input, parts.signature)) return JwtReject::bad_signature;
  return {};
}

}  // namespace

JwtResult<std::string> verify_signature(std::string_view token, JwtKey const& key) {
  auto parts = parse_compact(token);
  if (!parts) return parts.error();
  auto alg_it = parts->header.find("alg");
  auto alg = alg_it != parts->header.end() && alg_it->is_string()
                 ? parse_alg(alg_it->get_ref<std::string const&>()) : std::nullopt;
  if (!alg) return JwtReject::alg_unsupported;
  if (auto checked = check_signature(*parts, *alg, key); !checked) return checked.error();
  return std::move(parts->payload);
}

JwtVerifier::JwtVerifier(std::shared_ptr<KeySet const> keys, ClaimsPolicy policy, core::Clock const& clock)
    : keys_(std::move(keys)), policy_(std::move(policy)), clock_(clock) {
  if (!keys_) throw std::invalid_argument("jwt: no keys");
  if (policy_.issuer.empty()) throw std::invalid_argument("jwt: the issuer must not be empty");
  if (policy_.audience.empty()) throw std::invalid_argument("jwt: the audience must not be empty");
  if (policy_.leeway.count() < 0 || policy_.leeway > kMaxLeeway) {
    throw std::invalid_argument("jwt: the leeway must be 0.." + std::to_string(kMaxLeeway.count()) + " seconds");
  }
}

JwtResult<VerifiedToken> JwtVerifier::verify(std::string_view token) const {
  auto parts = parse_compact(token);
  if (!parts) return parts.error();
  auto header = read_header(parts->header);
  if (!header) return header.error();
  JwtKey const* key = keys_->find(header->kid);
  if (!key) return JwtReject::kid_unknown;
  if (auto checked = check_signature(*parts, header->alg, *key); !checked) return checked.error();
  auto claims = parse_json_object_strict(parts->payload);
  if (!claims) return claims.error();
  if (auto valid = check_claims(*claims, policy_, clock_.now_ms()); !valid) return valid.error();
  return VerifiedToken{key->kid(), key->alg(), std::move(*claims)};
}

}  // namespace outboard::auth
