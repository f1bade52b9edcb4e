#include "auth/jwt_jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

#include "core/random.hpp"

namespace outboard::auth {

namespace {

using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

constexpr int kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;

core::Error invalid(std::string why) { return core::make_error(core::Errc::invalid, std::move(why)); }

// A BIGNUM parameter of `pkey` as base64url of its big-endian bytes, left-padded to `width`
// bytes when width > 0 (EC coordinates are fixed-width; RSA numbers are minimal, RFC 7518 6.3.1).
std::string bn_param_b64(EVP_PKEY* pkey, char const* name, int width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  BnPtr bn(raw, &BN_free);
  int size = width > 0 ? width : BN_num_bytes(bn.get());
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()), size) != size) return {};
  return core::base64url_encode(bytes);
}

// The public members that say which key it is, by type.
nlohmann::json public_numbers(JwtKey const& key) {
  EVP_PKEY* pkey = key.pkey();
  switch (key.alg()) {
    case JwsAlg::eddsa: {
      std::string x(kEd25519KeyBytes, '\0');
      std::size_t size = x.size();
      if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(x.data()), &size) != 1) return {};
      return {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", core::base64url_encode(x)}};
    }
    case JwsAlg::es256:
      return {{"kty", "EC"}, {"crv", "P-256"},
              {"x", bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kP256CoordinateBytes)},
              {"y", bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kP256CoordinateBytes)}};
    case JwsAlg::rs256:
      return {{"kty", "RSA"}, {"n", bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0)},
              {"e", bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0)}};
    case JwsAlg::hs256: return {};
  }
  return {};
}

// A JWK member that must be a base64url string; empty when missing or not decodable.
std::string member_bytes(nlohmann::json const& jwk, char const* name) {
  auto it = jwk.find(name);
  std::string bytes;
  if (it == jwk.end() || !it->is_string() || !core::base64url_decode(it->get_ref<std::string const&>(), bytes)) {
    return {};
  }
  return bytes;
}

bool member_is(nlohmann::json const& jwk, char const* name, char const* value) {
  auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() && it->get_ref<std::string const&>() == value;
}

EVP_PKEY* pkey_from_params(char const* type, OSSL_PARAM_BLD* build) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(build), &OSSL_PARAM_free);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return pkey;
}

EVP_PKEY* ec_pkey(std::string const& x, std::string const& y) {
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) return nullptr;
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  ParamBldPtr build(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!build || OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  return pkey_from_params("EC", build.get());
}

EVP_PKEY* rsa_pkey(std::string const& n, std::string const& e) {
  if (n.empty() || e.empty()) return nullptr;
  auto const* n_bytes = reinterpret_cast<unsigned char const*>(n.data());
  auto const* e_bytes = reinterpret_cast<unsigned char const*>(e.data());
  BnPtr n_bn(BN_bin2bn(n_bytes, static_cast<int>(n.size()), nullptr), &BN_free);
  BnPtr e_bn(BN_bin2bn(e_bytes, static_cast<int>(e.size()), nullptr), &BN_free);
  ParamBldPtr build(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!n_bn || !e_bn || !build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return nullptr;
  }
  return pkey_from_params("RSA", build.get());
}

EVP_PKEY* pkey_from_jwk(nlohmann::json const& jwk, JwsAlg alg) {
  switch (alg) {
    case JwsAlg::eddsa: {
      if (!member_is(jwk, "kty", "OKP") || !member_is(jwk, "crv", "Ed25519")) return nullptr;
      auto x = member_bytes(jwk, "x");
      if (x.size() != kEd25519KeyBytes) return nullptr;
      return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                         reinterpret_cast<unsigned char const*>(x.data()), x.size());
    }
    case JwsAlg::es256:
      if (!member_is(jwk, "kty", "EC") || !member_is(jwk, "crv", "P-256")) return nullptr;
      return ec_pkey(member_bytes(jwk, "x"), member_bytes(jwk, "y"));
    case JwsAlg::rs256:
      if (!member_is(jwk, "kty", "RSA")) return nullptr;
      return rsa_pkey(member_bytes(jwk, "n"), member_bytes(jwk, "e"));
    case JwsAlg::hs256: return nullptr;
  }
  return nullptr;
}

}  // namespace

core::Result<nlohmann::json> public_jwk(JwtKey const& key) {
  if (key.is_symmetric()) return invalid("HS256 keys are secrets and are never published");
  auto jwk = public_numbers(key);
  if (!jwk.is_object()) return core::make_error(core::Errc::internal, "cannot read the public key of '" + key.kid() + "'");
  jwk["kid"] = key.kid();
  jwk["alg"] = std::string(to_string(key.alg()));
  jwk["use"] = "sig";
  return core::Result<nlohmann::json>(boost::system::in_place_value, std::move(jwk));
}

nlohmann::json jwks_json(KeySet const& keys) {
  auto list = nlohmann::json::array();
  for (auto const& key : keys.keys()) {
    if (auto jwk = public_jwk(key)) list.push_back(std::move(*jwk));
  }
  return {{"keys", std::move(list)}};
}

core::Result<JwtKey> key_from_jwk(nlohmann::json const& jwk, std::string kid, JwsAlg alg) {
  if (!jwk.is_object()) return invalid("a JWK must be a JSON object");
  if (alg == JwsAlg::hs256) {
    if (!member_is(jwk, "kty", "oct")) return invalid("an HS256 JWK must have kty \"oct\"");
    return JwtKey::from_secret(std::move(kid), member_bytes(jwk, "k"));
  }
  EVP_PKEY* pkey = pkey_from_jwk(jwk, alg);
  if (!pkey) return invalid("not a valid " + std::string(to_string(alg)) + " public JWK");
  return JwtKey::from_pkey(std::move(kid), alg, pkey, false);
}

}  // namespace outboard::auth
