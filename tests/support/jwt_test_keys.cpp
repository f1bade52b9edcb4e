#include "support/jwt_test_keys.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "core/random.hpp"

namespace outboard::testing {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void write_file(std::filesystem::path const& path, std::string const& text, bool secret) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
  if (secret) ::chmod(path.c_str(), 0600);
}

}  // namespace

TestSigningKey::TestSigningKey(std::string kid) : kid_(std::move(kid)) {
  key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key_) throw std::runtime_error("Ed25519 key generation failed");
}

TestSigningKey::~TestSigningKey() { EVP_PKEY_free(key_); }

void TestSigningKey::write_private_pem(std::filesystem::path const& path) const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!PEM_write_bio_PrivateKey(bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr)) {
    throw std::runtime_error("PEM private key export failed");
  }
  write_file(path, bio_text(bio.get()), true);
}

void TestSigningKey::write_public_pem(std::filesystem::path const& path) const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!PEM_write_bio_PUBKEY(bio.get(), key_)) throw std::runtime_error("PEM public key export failed");
  write_file(path, bio_text(bio.get()), false);
}

std::string TestSigningKey::sign(nlohmann::json const& claims) const {
  nlohmann::json header{{"alg", "EdDSA"}, {"kid", kid_}, {"typ", "JWT"}};
  std::string input = core::base64url_encode(header.dump()) + "." + core::base64url_encode(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string signature(64, '\0');
  std::size_t size = signature.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<unsigned char const*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("Ed25519 signing failed");
  }
  signature.resize(size);
  return input + "." + core::base64url_encode(signature);
}

void write_refresh_key_file(std::filesystem::path const& path) {
  write_file(path, core::hex_encode(core::random_bytes(32)) + "\n", true);
}

std::map<std::string, std::string> token_env(std::string const& mode, TestSigningKey const& signing,
                                             std::filesystem::path const& dir,
                                             std::filesystem::path const& refresh_key) {
  auto pem = dir / (signing.kid() + ".pem");
  if (!std::filesystem::exists(pem)) signing.write_private_pem(pem);
  return {{"OUTBOARD_SERVE_AUTH_MODE", mode},
          {"OUTBOARD_SERVE_AUTH_SIGNING_KEY_FILE", pem.string()},
          {"OUTBOARD_SERVE_AUTH_SIGNING_KID", signing.kid()},
          {"OUTBOARD_SERVE_AUTH_REFRESH_KEY_FILE", refresh_key.string()},
          {"OUTBOARD_SERVE_AUTH_ISSUER", "https://outboard.test"},
          {"OUTBOARD_SERVE_AUTH_AUDIENCE", "shop"}};
}

nlohmann::json jwt_claims(std::string const& token) {
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  std::string payload;
  if (first == std::string::npos || second == std::string::npos ||
      !core::base64url_decode(token.substr(first + 1, second - first - 1), payload)) {
    return nlohmann::json();
  }
  return nlohmann::json::parse(payload, nullptr, false);
}

}  // namespace outboard::testing
