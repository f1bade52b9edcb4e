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

// RFC 4231 test case 6 (a key longer than SHA-256's block): the MAC is HMAC-SHA256 itself, and it
// stays so on every call (each MAC starts from a copy of the keyed context, which must not
// change: a second call computed over a finished context would differ).
TEST(CookieSigner, TheMacIsHmacSha256OnEveryCall) {
  CookieSigner signer({std::string(131, '\xaa')});
  std::string const data = "Test Using Larger Than Block-Size Key - Hash Key First";
  std::string const expected = data + ".YOQxWR7gtn8Niiaqy_W3f44LxiE3KMUUBUYEDw7jf1Q";
  EXPECT_EQ(signer.sign(data), expected);
  EXPECT_EQ(signer.sign(data), expected);
  EXPECT_EQ(signer.verify(expected), data);
}

TEST(CookieSigner, TheNewestKeySignsAndEveryKeyVerifies) {
  std::string old_key = core::random_bytes(32);
  std::string new_key = core::random_bytes(32);
  CookieSigner before({old_key});
  CookieSigner rotated({new_key, old_key});
  CookieSigner after({new_key});
  std::string signed_before = before.sign("id-1");
  EXPECT_EQ(rotated.verify(signed_before), "id-1") << "a cookie signed with the old key must still verify";
  EXPECT_EQ(after.verify(rotated.sign("id-2")), "id-2") << "the first key signs";
  EXPECT_EQ(after.verify(signed_before), std::nullopt) << "a key taken out verifies nothing";
}

// verify() remembers values that verified: what it remembers must never let through a value
// that the MAC would refuse, however close to a remembered one.
TEST(CookieSigner, AValueVerifiedBeforeVerifiesAgainAndNoNeighbourOfItDoes) {
  CookieSigner signer({core::random_bytes(32)});
  std::string const value = signer.sign("session-1");
  ASSERT_EQ(signer.verify(value), "session-1");
  EXPECT_EQ(signer.verify(value), "session-1") << "the second time, from what it remembers";
  for (std::size_t i = 0; i < value.size(); ++i) {
    std::string changed = value;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(signer.verify(changed), std::nullopt) << "byte " << i << " changed: " << changed;
  }
  EXPECT_EQ(signer.verify(value.substr(0, value.size() - 1)), std::nullopt);
  EXPECT_EQ(signer.verify(value + "A"), std::nullopt);
  EXPECT_EQ(signer.verify(value), "session-1") << "the neighbours did not evict or spoil it";
  // Many sessions through the same table: each still verifies to its own id.
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i) values.push_back(signer.sign("s" + std::to_string(i)));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3000; ++i) ASSERT_EQ(signer.verify(values[i]), "s" + std::to_string(i)) << round;
  }
  CookieSigner other({core::random_bytes(32)});
  EXPECT_EQ(other.verify(value), std::nullopt) << "what one signer remembers is its own";
}

TEST(CookieSigner, DecodesHexAndBase64urlKeys) {
  std::string raw = core::random_bytes(32);
  EXPECT_EQ(CookieSigner::decode_key(core::hex_encode(raw)), raw);
  EXPECT_EQ(CookieSigner::decode_key(core::base64url_encode(raw)), raw);
  EXPECT_EQ(CookieSigner::decode_key("too-short"), std::nullopt);
}

}  // namespace
}  // namespace outboard::runtime
