#include "auth/jwt_key.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "auth/jwt_ecdsa.hpp"

namespace outboard::auth {

namespace {

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

core::Error unfit(JwsAlg alg, std::string_view why) {
  return core::make_error(core::Errc::invalid, std::string("not an ") + std::string(to_string(alg)) + " key: " +
                                                   std::string(why));
}

bool is_p256(EVP_PKEY* pkey) {
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &length) != 1) {
    return false;
  }
  std::string_view name(group.data(), length);
  return name == "prime256v1" || name == "P-256";
}

// Empty when `pkey` is a key `alg` may use; else why not.
std::string_view misfit(JwsAlg alg, EVP_PKEY* pkey) {
  switch (alg) {
    case JwsAlg::eddsa: return EVP_PKEY_is_a(pkey, "ED25519") ? "" : "the key is not Ed25519";
    case JwsAlg::es256:
      if (!EVP_PKEY_is_a(pkey, "EC")) return "the key is not an EC key";
      return is_p256(pkey) ? "" : "the EC key is not on curve P-256";
    case JwsAlg::rs256:
      if (!EVP_PKEY_is_a(pkey, "RSA")) return "the key is not an RSA key";
      return EVP_PKEY_get_bits(pkey) >= kMinRsaBits ? "" : "the RSA modulus is under 2048 bits";
    case JwsAlg::hs256: return "HS256 takes a secret, not a public/private key";
  }
  return "unknown algorithm";
}

// SHA-256 for ES256 and RS256; none for Ed25519, which hashes internally (one-shot only).
EVP_MD const* digest_for(JwsAlg alg) { return alg == JwsAlg::eddsa ? nullptr : EVP_sha256(); }

std::string hmac_sha256(std::string const& secret, std::string_view input) {
  std::string mac(32, '\0');
  std::size_t length = 0;
  auto* result = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                           reinterpret_cast<unsigned char const*>(input.data()), input.size(),
                           reinterpret_cast<unsigned char*>(mac.data()), mac.size(), &length);
  if (result == nullptr || length != mac.size()) return {};
  return mac;
}

}  // namespace

core::Result<JwtKey> JwtKey::from_pkey(std::string kid, JwsAlg alg, EVP_PKEY* pkey, bool has_private) {
  std::shared_ptr<EVP_PKEY> owned(pkey, &EVP_PKEY_free);
  if (!owned) return core::make_error(core::Errc::invalid, "no key");
  if (auto why = misfit(alg, pkey); !why.empty()) return unfit(alg, why);
  return JwtKey(std::move(kid), alg, std::move(owned), {}, has_private);
}

core::Result<JwtKey> JwtKey::from_secret(std::string kid, std::string secret) {
  if (secret.size() < kMinHmacSecretBytes) return unfit(JwsAlg::hs256, "the secret is shorter than 32 bytes");
  return JwtKey(std::move(kid), JwsAlg::hs256, nullptr, std::move(secret), true);
}

core::Result<std::string> JwtKey::sign(std::string_view signing_input) const {
  if (!has_private_) return core::make_error(core::Errc::invalid, "key '" + kid_ + "' is public only");
  if (alg_ == JwsAlg::hs256) {
    auto mac = hmac_sha256(secret_, signing_input);
    if (mac.empty()) return core::make_error(core::Errc::internal, "HMAC failed");
    return mac;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  auto const* input = reinterpret_cast<unsigned char const*>(signing_input.data());
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(alg_), nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, input, signing_input.size()) != 1) {
    return core::make_error(core::Errc::internal, "signing failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, input,
                     signing_input.size()) != 1) {
    return core::make_error(core::Errc::internal, "signing failed");
  }
  signature.resize(size);
  if (alg_ != JwsAlg::es256) return signature;
  auto raw = ecdsa_der_to_raw(signature);
  if (!raw) return core::make_error(core::Errc::internal, "ECDSA signature conversion failed");
  return *raw;
}

bool JwtKey::verify(std::string_view signing_input, std::string_view signature) const {
  if (alg_ == JwsAlg::hs256) {
    auto expected = hmac_sha256(secret_, signing_input);
    return !expected.empty() && signature.size() == expected.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
  }
  std::string der;
  if (alg_ == JwsAlg::es256) {
    auto converted = ecdsa_raw_to_der(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg_), nullptr, pkey_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<unsigned char const*>(signature.data()), signature.size(),
                          reinterpret_cast<unsigned char const*>(signing_input.data()),
                          signing_input.size()) == 1;
}

}  // namespace outboard::auth
