#include <gtest/gtest.h>

#include "core/random.hpp"
#include "runtime/cookie_signer.hpp"

namespace outboard::runtime {
namespace {

TEST(CookieSigner, SignedValueVerifiesToTheId) {
  CookieSigner signer({core::random_bytes(32)});
  auto value = signer.sign("abc");
  EXPECT_EQ(signer.verify(value), "abc");
}

TEST(CookieSigner, RejectsShortKeysAndNoKeys) {
  EXPECT_THROW(CookieSigner({std::string(31, 'k')}), std::invalid_argument);
  EXPECT_THROW(CookieSigner(std::vector<std::string>{}), std::invalid_argument);
}

TEST(CookieSigner, RejectsMalformedValues) {
  CookieSigner signer({core::random_bytes(32)});
  EXPECT_EQ(signer.verify(""), std::nullopt);
  EXPECT_EQ(signer.verify("."), std::nullopt);
  EXPECT_EQ(signer.verify("abc"), std::nullopt);
  EXPECT_EQ(signer.verify("abc."), std::nullopt);
  EXPECT_EQ(signer.verify(signer.sign("abc") + "x"), std::nullopt);
}

TEST(CookieSigner, DecodesHexAndBase64urlKeys) {
  std::string raw = core::random_bytes(32);
  EXPECT_EQ(CookieSigner::decode_key(core::hex_encode(raw)), raw);
  EXPECT_EQ(CookieSigner::decode_key(core::base64url_encode(raw)), raw);
  EXPECT_EQ(CookieSigner::decode_key("too-short"), std::nullopt);
}

}  // namespace
}  // namespace outboard::runtime
