// The refresh token's text form and successor derivation: pure functions, plain values.
#include <gtest/gtest.h>

#include "auth/refresh_token.hpp"
#include "core/random.hpp"
#include "core/secret_file.hpp"
#include "support/temp_dir.hpp"

namespace outboard::auth {
namespace {

TEST(RefreshToken, TextRoundTripsThroughParse) {
  auto token = RefreshToken::first_of_new_family();
  auto parsed = RefreshToken::parse(token.text());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->family, token.family);
  EXPECT_EQ(parsed->secret, token.secret);
  EXPECT_EQ(token.secret.size(), RefreshToken::kSecretBytes);
}

TEST(RefreshToken, ParseRefusesAnythingButTheCanonicalForm) {
  std::string const good = RefreshToken::first_of_new_family().text();
  auto dot = good.find('.');
  ASSERT_EQ(dot, 22u);
  ASSERT_EQ(good.size(), 22u + 1 + 43);
  EXPECT_FALSE(RefreshToken::parse(""));
  EXPECT_FALSE(RefreshToken::parse(good.substr(0, dot)));                                // no secret
  EXPECT_FALSE(RefreshToken::parse(good.substr(0, good.size() - 1)));                    // short secret
  EXPECT_FALSE(RefreshToken::parse(good + "A"));                                         // long secret
  EXPECT_FALSE(RefreshToken::parse(good.substr(1)));                                     // short family
  EXPECT_FALSE(RefreshToken::parse(good.substr(0, dot) + "=" + good.substr(dot)));       // padding
  EXPECT_FALSE(RefreshToken::parse(good.substr(0, dot) + good.substr(dot + 1) + ".")); // dot moved
  std::string plus = good;
  plus[dot + 5] = '+';  // base64, not base64url
  EXPECT_FALSE(RefreshToken::parse(plus));
}

TEST(RefreshToken, NonCanonicalSpellingOfASecretIsRefused) {
  // 'A' ends a canonical 43-character encoding; 'B' differs only in the two spare bits.
  std::string family = core::base64url_encode(std::string(RefreshToken::kFamilyBytes, '\x01'));
  std::string secret = core::base64url_encode(std::string(RefreshToken::kSecretBytes, '\0'));
  ASSERT_EQ(secret.back(), 'A');
  ASSERT_TRUE(RefreshToken::parse(family + "." + secret));
  secret.back() = 'B';
  EXPECT_FALSE(RefreshToken::parse(family + "." + secret));
}

TEST(RefreshToken, SuccessorIsOneValuePerKeyAndParentAndStaysInTheFamily) {
  auto key = RefreshKey::generate();
  auto other_key = RefreshKey::generate();
  auto parent = RefreshToken::first_of_new_family();
  auto next = parent.successor(key);
  EXPECT_EQ(next.family, parent.family);
  EXPECT_EQ(next.secret.size(), RefreshToken::kSecretBytes);
  EXPECT_EQ(next.text(), parent.successor(key).text()) << "two servers must derive the same successor";
  EXPECT_NE(next.secret, parent.secret);
  EXPECT_NE(next.secret, parent.successor(other_key).secret);
  EXPECT_NE(next.secret, next.successor(key).secret);
  // The same secret in another family has another successor: a family is part of the input.
  RefreshToken elsewhere{RefreshToken::first_of_new_family().family, parent.secret};
  EXPECT_NE(elsewhere.successor(key).secret, next.secret);
}

TEST(RefreshToken, DigestIsTheSha256OfTheSecretNotTheSecret) {
  RefreshToken token{core::base64url_encode(std::string(16, 'f')), std::string(32, '\0')};
  // SHA-256 of 32 zero bytes.
  std::string expected;
  ASSERT_TRUE(core::hex_decode("66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", expected));
  EXPECT_EQ(token.digest(), core::base64url_encode(expected));
}

TEST(RefreshKey, IsReadFromAPrivateFileAsHexOrBase64url) {
  testing::TempDir dir;
  std::string raw = core::random_bytes(32);
  ASSERT_TRUE(core::create_secret_file(dir / "hex", core::hex_encode(raw)));
  ASSERT_TRUE(core::create_secret_file(dir / "b64", core::base64url_encode(raw)));
  auto from_hex = RefreshKey::from_file(dir / "hex");
  auto from_b64 = RefreshKey::from_file(dir / "b64");
  RefreshKey direct(raw);
  EXPECT_EQ(from_hex.mac("m"), direct.mac("m"));
  EXPECT_EQ(from_b64.mac("m"), direct.mac("m"));
}

TEST(RefreshKey, AShortKeyStopsStartUpNamingTheFileNotTheKey) {
  testing::TempDir dir;
  std::string const short_key = core::hex_encode(core::random_bytes(16));
  ASSERT_TRUE(core::create_secret_file(dir / "short", short_key));
  try {
    RefreshKey::from_file(dir / "short");
    FAIL() << "a 16-byte key was accepted";
  } catch (std::runtime_error const& e) {
    std::string what = e.what();
    EXPECT_NE(what.find((dir / "short").string()), std::string::npos) << what;
    EXPECT_EQ(what.find(short_key), std::string::npos) << "the key leaked into the message";
  }
  EXPECT_THROW(RefreshKey(std::string(31, 'k')), std::invalid_argument);
}

}  // namespace
}  // namespace outboard::auth
