// Keys: the one-alg binding made at construction, the signature formats, key files with errors
// that name the file, and the JWKS.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>

#include "auth/jwt_ecdsa.hpp"
#include "auth/jwt_jwk.hpp"
#include "auth/jwt_key_files.hpp"
#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "core/random.hpp"
#include "core/secret_file.hpp"
#include "jwt_test_keys.hpp"
#include "support/temp_dir.hpp"

namespace outboard::auth {
namespace {

using jwt_testing::shared_key;
constexpr std::array kAllAlgs{JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256};

TEST(JwtKey, EachAlgSignsAndVerifiesAndRefusesAnotherInput) {
  for (auto alg : kAllAlgs) {
    auto signature = shared_key(alg).sign("header.payload");
    ASSERT_TRUE(signature) << to_string(alg);
    EXPECT_TRUE(shared_key(alg).verify("header.payload", *signature)) << to_string(alg);
    EXPECT_FALSE(shared_key(alg).verify("header.payloaD", *signature)) << to_string(alg);
    EXPECT_FALSE(shared_key(alg).verify("header.payload", signature->substr(1))) << to_string(alg);
  }
}

TEST(JwtKey, Es256SignaturesAreRawRAndSOf64Bytes) {
  auto signature = shared_key(JwsAlg::es256).sign("x");
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), kEs256SignatureBytes);
  // The DER form OpenSSL produces is refused: only JOSE's raw form is a JWS signature.
  auto der = ecdsa_raw_to_der(*signature);
  ASSERT_TRUE(der);
  EXPECT_FALSE(shared_key(JwsAlg::es256).verify("x", *der));
}

TEST(JwtKey, EcdsaRawAndDerConvertBothWaysKeepingLeadingZeros) {
  std::string raw(kEs256SignatureBytes, '\0');
  raw[5] = '\x80';   // r with leading zero bytes and a high bit (DER adds a sign byte)
  raw[63] = '\x01';  // s = 1
  auto der = ecdsa_raw_to_der(raw);
  ASSERT_TRUE(der);
  EXPECT_EQ(ecdsa_der_to_raw(*der), raw);
  EXPECT_FALSE(ecdsa_raw_to_der(raw.substr(1)));
  EXPECT_FALSE(ecdsa_raw_to_der(raw + "x"));
  EXPECT_FALSE(ecdsa_der_to_raw(*der + "x"));  // trailing bytes after the DER value
}

TEST(JwtKey, AKeyIsRefusedForAnAlgItDoesNotFit) {
  auto pkey_of = [](JwsAlg alg) { return EVP_PKEY_dup(shared_key(alg).pkey()); };
  EXPECT_FALSE(JwtKey::from_pkey("k", JwsAlg::es256, pkey_of(JwsAlg::eddsa), true));
  EXPECT_FALSE(JwtKey::from_pkey("k", JwsAlg::rs256, pkey_of(JwsAlg::es256), true));
  EXPECT_FALSE(JwtKey::from_pkey("k", JwsAlg::eddsa, pkey_of(JwsAlg::rs256), true));
  EXPECT_FALSE(JwtKey::from_pkey("k", JwsAlg::hs256, pkey_of(JwsAlg::rs256), true));
  EXPECT_TRUE(JwtKey::from_pkey("k", JwsAlg::rs256, pkey_of(JwsAlg::rs256), true));
  auto p384 = JwtKey::from_pkey("k", JwsAlg::es256, EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), true);
  ASSERT_FALSE(p384);
  EXPECT_NE(p384.error().context.find("P-256"), std::string::npos);
  auto rsa1024 = JwtKey::from_pkey("k", JwsAlg::rs256, EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}), true);
  ASSERT_FALSE(rsa1024);
  EXPECT_NE(rsa1024.error().context.find("2048"), std::string::npos);
  EXPECT_FALSE(JwtKey::from_secret("k", std::string(kMinHmacSecretBytes - 1, 's')));
  EXPECT_TRUE(JwtKey::from_secret("k", std::string(kMinHmacSecretBytes, 's')));
}

TEST(JwtKey, APublicOnlyKeyVerifiesButDoesNotSign) {
  auto pem = public_key_text(shared_key(JwsAlg::eddsa));
  ASSERT_TRUE(pem);
  auto public_only = key_from_pem("k", JwsAlg::eddsa, *pem);
  ASSERT_TRUE(public_only);
  EXPECT_FALSE(public_only->can_sign());
  EXPECT_FALSE(public_only->sign("x"));
  auto signature = shared_key(JwsAlg::eddsa).sign("x");
  EXPECT_TRUE(public_only->verify("x", *signature));
}

TEST(JwtKeySet, KidsAreUniqueAndTheSigningKeyMustSign) {
  auto public_only = key_from_pem("pub", JwsAlg::eddsa, *public_key_text(shared_key(JwsAlg::eddsa)));
  EXPECT_THROW(KeySet(*public_only, {}), std::invalid_argument);
  EXPECT_THROW(KeySet(shared_key(JwsAlg::eddsa), {jwt_testing::fresh_key(JwsAlg::es256, "EdDSA-1")}),
               std::invalid_argument);
  KeySet keys(shared_key(JwsAlg::eddsa), {shared_key(JwsAlg::es256)});
  EXPECT_EQ(keys.find("ES256-1"), &keys.keys()[1]);
  EXPECT_EQ(keys.find("ES256-"), nullptr);
}

// Key files in a temp dir, as an operator would write them.
class JwtKeyFiles : public ::testing::Test {
 protected:
  std::filesystem::path write(std::string const& name, std::string const& text, mode_t mode = 0600) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  // The message of the error load_key_file throws, or "" when it loads.
  static std::string load_error(KeyFile const& file) {
    try {
      load_key_file(file);
      return "";
    } catch (std::runtime_error const& e) {
      return e.what();
    }
  }
  outboard::testing::TempDir dir_;
};

TEST_F(JwtKeyFiles, EachAlgLoadsFromItsPrivateAndPublicFile) {
  for (auto alg : kAllAlgs) {
    JwtKey const& key = shared_key(alg);
    auto priv = write(key.kid() + ".key", *private_key_text(key));
    auto pub = write(key.kid() + ".pub", *public_key_text(key), 0644);
    JwtKey signing = load_key_file({key.kid(), alg, priv});
    EXPECT_TRUE(signing.can_sign());
    auto token = sign_jwt(signing, {{"x", 1}});
    ASSERT_TRUE(token);
    EXPECT_TRUE(verify_signature(*token, load_key_file({key.kid(), alg, alg == JwsAlg::hs256 ? priv : pub})));
  }
}

TEST_F(JwtKeyFiles, ErrorsNameTheFileAndTheReasonButNeverTheKey) {
  JwtKey const& ed = shared_key(JwsAlg::eddsa);
  std::string const pem = *private_key_text(ed);
  auto readable = write("readable.key", pem, 0644);
  auto error = load_error({"k", JwsAlg::eddsa, readable});
  EXPECT_NE(error.find(readable.string()), std::string::npos) << error;
  EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;

  auto garbage = write("garbage.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  error = load_error({"k", JwsAlg::eddsa, garbage});
  EXPECT_NE(error.find(garbage.string() + ": not a PEM public key"), std::string::npos) << error;

  auto ed_file = write("ed.key", pem);
  error = load_error({"k", JwsAlg::es256, ed_file});
  EXPECT_NE(error.find(ed_file.string() + ": not an ES256 key: the key is not an EC key"), std::string::npos) << error;
  EXPECT_EQ(error.find("BEGIN"), std::string::npos) << error;

  auto short_secret = write("short.secret", core::base64url_encode(std::string(16, 's')));
  error = load_error({"k", JwsAlg::hs256, short_secret});
  EXPECT_NE(error.find(short_secret.string() + ": not an HS256 key: the secret is shorter than 32 bytes"),
            std::string::npos) << error;

  BIO* encrypted = BIO_new(BIO_s_mem());
  PEM_write_bio_PKCS8PrivateKey(encrypted, ed.pkey(), EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                const_cast<char*>("passphrase"));
  char* encrypted_text = nullptr;
  long const encrypted_size = BIO_get_mem_data(encrypted, &encrypted_text);
  auto encrypted_file = write("encrypted.key", std::string(encrypted_text, static_cast<std::size_t>(encrypted_size)));
  BIO_free(encrypted);
  error = load_error({"k", JwsAlg::eddsa, encrypted_file});
  EXPECT_NE(error.find(encrypted_file.string() + ": an encrypted private key"), std::string::npos) << error;

  error = load_error({"k", JwsAlg::eddsa, dir_ / "missing.key"});
  EXPECT_NE(error.find((dir_ / "missing.key").string()), std::string::npos) << error;
  error = load_error({"", JwsAlg::eddsa, ed_file});
  EXPECT_NE(error.find("kid"), std::string::npos) << error;
}

TEST_F(JwtKeyFiles, TheSigningFileMustHoldAPrivateKeyAndKidsMustDiffer) {
  JwtKey const& ed = shared_key(JwsAlg::eddsa);
  auto pub = write("ed.pub", *public_key_text(ed), 0644);
  auto priv = write("ed.key", *private_key_text(ed));
  EXPECT_THROW(
      {
        try {
          load_key_set({"a", JwsAlg::eddsa, pub}, {});
        } catch (std::runtime_error const& e) {
          EXPECT_NE(std::string(e.what()).find(pub.string()), std::string::npos);
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(load_key_set({"a", JwsAlg::eddsa, priv}, {{"a", JwsAlg::eddsa, pub}}), std::runtime_error);
  KeySet keys = load_key_set({"a", JwsAlg::eddsa, priv}, {{"b", JwsAlg::eddsa, pub}});
  EXPECT_EQ(keys.keys().size(), 2u);
}

TEST(JwtJwks, PublishesEveryAsymmetricKeyAndNoSecret) {
  KeySet keys(shared_key(JwsAlg::eddsa), {shared_key(JwsAlg::es256), shared_key(JwsAlg::rs256), shared_key(JwsAlg::hs256)});
  auto jwks = jwks_json(keys);
  ASSERT_EQ(jwks.at("keys").size(), 3u);
  std::string const text = jwks.dump();
  EXPECT_EQ(text.find("HS256"), std::string::npos);
  EXPECT_EQ(text.find("\"k\""), std::string::npos);
  EXPECT_EQ(text.find("\"d\""), std::string::npos);
  EXPECT_EQ(text.find(core::base64url_encode(shared_key(JwsAlg::hs256).secret())), std::string::npos);
  for (auto const& jwk : jwks.at("keys")) {
    EXPECT_EQ(jwk.at("use"), "sig");
    EXPECT_EQ(jwk.size(), jwk.at("kty") == "EC" ? 7u : 6u) << jwk.dump();  // kid, alg, use + the numbers
  }
}

TEST(JwtJwks, EachPublishedKeyVerifiesItsKeysTokensAfterARoundTrip) {
  KeySet keys(shared_key(JwsAlg::eddsa), {shared_key(JwsAlg::es256), shared_key(JwsAlg::rs256)});
  auto const jwks = jwks_json(keys);  // named: a range-for over a temporary's member would dangle
  for (auto const& jwk : jwks.at("keys")) {
    auto alg = parse_alg(jwk.at("alg").get<std::string>());
    ASSERT_TRUE(alg);
    auto imported = key_from_jwk(jwk, jwk.at("kid"), *alg);
    ASSERT_TRUE(imported) << imported.error().context;
    auto token = sign_jwt(shared_key(*alg), {{"x", 1}});
    EXPECT_TRUE(verify_signature(*token, *imported)) << jwk.dump();
    auto other = sign_jwt(jwt_testing::fresh_key(*alg == JwsAlg::rs256 ? JwsAlg::eddsa : *alg, "o"), {{"x", 1}});
    EXPECT_FALSE(verify_signature(*other, *imported)) << jwk.dump();
  }
}

TEST(JwtJwks, AMalformedJwkIsRefused) {
  EXPECT_FALSE(key_from_jwk(nlohmann::json::array(), "k", JwsAlg::eddsa));
  EXPECT_FALSE(key_from_jwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}, "k", JwsAlg::eddsa));
  EXPECT_FALSE(key_from_jwk({{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}}, "k", JwsAlg::es256));
  EXPECT_FALSE(key_from_jwk({{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}}, "k", JwsAlg::rs256));  // 17 bits
  EXPECT_FALSE(key_from_jwk({{"kty", "RSA"}, {"e", "AQAB"}}, "k", JwsAlg::rs256));
  auto ed = public_jwk(shared_key(JwsAlg::eddsa));
  EXPECT_FALSE(key_from_jwk(*ed, "k", JwsAlg::es256));  // an OKP key is not an ES256 key
}

}  // namespace
}  // namespace outboard::auth
