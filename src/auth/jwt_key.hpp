#pragma once
// One JWS key bound to exactly one algorithm and one kid. An asymmetric key holds an OpenSSL
// EVP_PKEY (shared, immutable after construction: OpenSSL allows concurrent sign/verify calls on
// one key, each with its own context), an HS256 key holds its secret. The binding is checked when
// the key is made (type, curve, size), so verification never has to trust a header's alg.
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt_alg.hpp"
#include "core/error.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace outboard::auth {

inline constexpr int kMinRsaBits = 2048;
inline constexpr std::size_t kMinHmacSecretBytes = 32;

class JwtKey {
 public:
  // Takes ownership of `pkey` (freed here also on failure). `has_private` says whether it may
  // sign. Errc::invalid when the key does not fit `alg` (wrong type, curve, or an RSA modulus
  // under kMinRsaBits); the context says which, never key material.
  static core::Result<JwtKey> from_pkey(std::string kid, JwsAlg alg, EVP_PKEY* pkey, bool has_private);
  // An HS256 key: `secret` of at least kMinHmacSecretBytes bytes. HS keys both sign and verify.
  static core::Result<JwtKey> from_secret(std::string kid, std::string secret);

  std::string const& kid() const { return kid_; }
  JwsAlg alg() const { return alg_; }
  bool can_sign() const { return has_private_; }
  bool is_symmetric() const { return alg_ == JwsAlg::hs256; }
  // The OpenSSL key (nullptr for HS256): for export (JWKS, PEM), never for a different alg.
  EVP_PKEY* pkey() const { return pkey_.get(); }
  // HS256 only: the secret, for writing a key file.
  std::string const& secret() const { return secret_; }

  // The JWS signature of `signing_input` (raw r||s for ES256). Errc::invalid for a public-only key.
  core::Result<std::string> sign(std::string_view signing_input) const;
  // Whether `signature` is this key's valid signature of `signing_input` under its own alg.
  bool verify(std::string_view signing_input, std::string_view signature) const;

 private:
  JwtKey(std::string kid, JwsAlg alg, std::shared_ptr<EVP_PKEY> pkey, std::string secret, bool has_private)
      : kid_(std::move(kid)), alg_(alg), pkey_(std::move(pkey)), secret_(std::move(secret)),
        has_private_(has_private) {}

  std::string kid_;
  JwsAlg alg_;
  std::shared_ptr<EVP_PKEY> pkey_;
  std::string secret_;
  bool has_private_;
};

}  // namespace outboard::auth
