// core/random.hpp's encoders against RFC 4648's test vectors (section 10; base64url is section 5:
// '-' and '_' for 62 and 63, no padding), and each decoder taking back what its encoder wrote.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"

namespace outboard::core {
namespace {

TEST(Encoding, Base64urlWritesRfc4648sVectorsWithoutPadding) {
  std::vector<std::pair<std::string, std::string>> vectors{
      {"", ""},         {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff\xbf", "-_-_"}};
  for (auto const& [bytes, text] : vectors) {
    EXPECT_EQ(base64url_encode(bytes), text) << bytes;
    std::string back;
    ASSERT_TRUE(base64url_decode(text, back)) << text;
    EXPECT_EQ(back, bytes);
  }
}

TEST(Encoding, HexWritesTwoLowercaseDigitsPerByte) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
  std::string back;
  ASSERT_TRUE(hex_decode("00ff10ab", back));
  EXPECT_EQ(back, std::string("\x00\xff\x10\xab", 4));
}

}  // namespace
}  // namespace outboard::core
