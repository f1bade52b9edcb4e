#pragma once
// Keys for tests of `outboard serve --auth jwt|both`, generated when the test runs (key files
// are never committed): an Ed25519 signing key written as the PEM files serve reads, able to
// mint tokens serve never would (expired, another audience, tampered), and the refresh key file.
// OpenSSL directly, not outboard_auth: the tests check serve against an independent signer.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

typedef struct evp_pkey_st EVP_PKEY;

namespace outboard::testing {

class TestSigningKey {
 public:
  explicit TestSigningKey(std::string kid);  // a fresh Ed25519 key; throws on OpenSSL failure
  ~TestSigningKey();
  TestSigningKey(TestSigningKey const&) = delete;
  TestSigningKey& operator=(TestSigningKey const&) = delete;

  std::string const& kid() const { return kid_; }
  void write_private_pem(std::filesystem::path const& path) const;  // PKCS#8, mode 0600
  void write_public_pem(std::filesystem::path const& path) const;   // SPKI
  // A compact JWS of `claims` with header {"alg":"EdDSA","kid":kid,"typ":"JWT"}.
  std::string sign(nlohmann::json const& claims) const;

 private:
  std::string kid_;
  EVP_PKEY* key_ = nullptr;
};

// A refresh-token key file: 32 random bytes as hex, mode 0600.
void write_refresh_key_file(std::filesystem::path const& path);

// The environment for `outboard serve --auth <mode>` with `signing` (its private key written to
// `dir`/<kid>.pem), the refresh key file `refresh_key`, and optional extra settings.
std::map<std::string, std::string> token_env(std::string const& mode, TestSigningKey const& signing,
                                             std::filesystem::path const& dir,
                                             std::filesystem::path const& refresh_key);

// The claims of a compact JWS's payload (unverified: for tests only).
nlohmann::json jwt_claims(std::string const& token);

}  // namespace outboard::testing
