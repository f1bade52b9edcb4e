#include "auth/jwt_key_pem.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "core/random.hpp"

namespace outboard::auth {

namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

core::Error invalid(std::string why) { return core::make_error(core::Errc::invalid, std::move(why)); }

// Asked for a passphrase, answer "none": OpenSSL's default would prompt on the terminal and hang
// a start-up that has no one at it.
int no_passphrase(char*, int, int, void*) { return -1; }

EVP_PKEY* generate_pkey(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::eddsa: return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    case JwsAlg::es256: return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    case JwsAlg::rs256: return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{kMinRsaBits});
    case JwsAlg::hs256: return nullptr;
  }
  return nullptr;
}

core::Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size <= 0) return core::make_error(core::Errc::internal, "PEM encoding failed");
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

core::Result<JwtKey> generate_key(JwsAlg alg, std::string kid) {
  if (alg == JwsAlg::hs256) return JwtKey::from_secret(std::move(kid), core::random_bytes(kMinHmacSecretBytes));
  EVP_PKEY* pkey = generate_pkey(alg);
  if (!pkey) return core::make_error(core::Errc::internal, "key generation failed");
  return JwtKey::from_pkey(std::move(kid), alg, pkey, true);
}

core::Result<JwtKey> key_from_pem(std::string kid, JwsAlg alg, std::string_view pem) {
  if (alg == JwsAlg::hs256) return invalid("HS256 keys are secrets, not PEM");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return core::make_error(core::Errc::internal, "out of memory");
  if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos) {
    return invalid("an encrypted private key: store it unencrypted with mode 0600");
  }
  // Only a "PRIVATE KEY" or "PUBLIC KEY" block is tried, so which kind the file holds decides.
  bool const is_private = pem.find("PRIVATE KEY-----") != std::string_view::npos;
  EVP_PKEY* pkey = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr)
                              : PEM_read_bio_PUBKEY(bio.get(), nullptr, &no_passphrase, nullptr);
  if (!pkey) return invalid(is_private ? "not a PEM private key" : "not a PEM public key");
  return JwtKey::from_pkey(std::move(kid), alg, pkey, is_private);
}

core::Result<JwtKey> key_from_secret_text(std::string kid, std::string_view text) {
  std::string secret;
  if (!core::base64url_decode(text, secret)) return invalid("an HS256 secret must be unpadded base64url");
  return JwtKey::from_secret(std::move(kid), std::move(secret));
}

core::Result<std::string> private_key_text(JwtKey const& key) {
  if (key.is_symmetric()) return core::base64url_encode(key.secret());
  if (!key.can_sign()) return invalid("key '" + key.kid() + "' is public only");
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.pkey(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return core::make_error(core::Errc::internal, "PEM encoding failed");
  }
  return bio_text(bio.get());
}

core::Result<std::string> public_key_text(JwtKey const& key) {
  if (key.is_symmetric()) return core::base64url_encode(key.secret());
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.pkey()) != 1) {
    return core::make_error(core::Errc::internal, "PEM encoding failed");
  }
  return bio_text(bio.get());
}

}  // namespace outboard::auth
