// Session keys from a file: the format, and the refusal of a file others may read.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/config.hpp"
#include "core/secret_file.hpp"
#include "runtime/session_keys.hpp"
#include "support/temp_dir.hpp"

namespace outboard::runtime {
namespace {

std::string const kNewest(64, 'a');
std::string const kOlder(64, 'b');

TEST(SessionKeys, OneKeyPerLineNewestFirstCommentsAndBlanksIgnored) {
  auto keys = parse_session_keys("# rotated 2026-11\n\n  " + kNewest + "  \r\n" + kOlder + "\n", "keys");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], std::string(32, '\xaa'));
  EXPECT_EQ(keys[1], std::string(32, '\xbb'));
}

TEST(SessionKeys, ABadLineIsNamedByLineWithoutEchoingIt) {
  try {
    parse_session_keys(kNewest + "\nsecret-with-a-typo\n", "/etc/outboard/keys");
    FAIL() << "a bad line was accepted";
  } catch (core::ConfigError const& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("/etc/outboard/keys:2"), std::string::npos) << what;
    EXPECT_EQ(what.find("secret-with-a-typo"), std::string::npos) << what;
  }
}

TEST(SessionKeys, AFileWithoutKeysIsAnError) {
  EXPECT_THROW(parse_session_keys("# nothing yet\n\n", "keys"), core::ConfigError);
}

TEST(SessionKeys, AFileOthersMayReadIsRefused) {
  testing::TempDir dir;
  auto path = dir / "keys";
  ASSERT_TRUE(core::create_secret_file(path, kNewest));
  EXPECT_EQ(load_session_keys_file(path).size(), 1u);
  ::chmod(path.c_str(), 0644);
  EXPECT_THROW(load_session_keys_file(path), core::ConfigError);
}

}  // namespace
}  // namespace outboard::runtime
