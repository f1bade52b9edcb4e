// RespReader's own bound on the arrays a reply may announce (resp.hpp): found by the resp fuzz
// target, where "*<huge count>" made hiredis allocate gigabytes (or abort) before any element.
#include <gtest/gtest.h>

#include <string>

#include "state/redis/resp.hpp"

namespace outboard::state {
namespace {

core::Result<std::optional<Reply>> read_one(std::string const& bytes) {
  RespReader reader;
  auto fed = reader.feed(bytes.data(), bytes.size());
  EXPECT_TRUE(fed) << "feed refused";
  return reader.next();
}

TEST(RespReader, RefusesAnArrayAnnouncingMoreElementsThanTheBound) {
  for (std::string count : {std::to_string(RespReader::kMaxArrayElements + 1), std::string("223375807"),
                            std::string("9999999999"), std::string("4294967294")}) {
    auto got = read_one("*" + count + "\r\n");
    EXPECT_FALSE(got) << count << " elements were accepted";
  }
}

TEST(RespReader, ReadsArraysWithinTheBound) {
  auto got = read_one("*2\r\n$1\r\na\r\n:7\r\n");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  ASSERT_EQ((*got)->elements.size(), 2u);
  EXPECT_EQ((*got)->elements[0].str, "a");
  EXPECT_EQ((*got)->elements[1].integer, 7);
  // A large announced array that is within the bound waits for its elements: no error.
  auto pending = read_one("*" + std::to_string(RespReader::kMaxArrayElements) + "\r\n");
  ASSERT_TRUE(pending);
  EXPECT_FALSE(pending->has_value());
}

}  // namespace
}  // namespace outboard::state
