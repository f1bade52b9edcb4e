// Secret files: created 0600 exactly once, read strictly, refused when others may read them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "core/secret_file.hpp"
#include "support/temp_dir.hpp"

namespace outboard::core {
namespace {

using testing::TempDir;

mode_t mode_of(std::filesystem::path const& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 0777;
}

void write_file(std::filesystem::path const& p, std::string const& text, mode_t mode) {
  std::ofstream(p) << text;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

std::string error_of(std::filesystem::path const& p) {
  try {
    read_secret_file(p);
  } catch (std::runtime_error const& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SecretFile, CreatesTheFileOwnerOnlyInANewOwnerOnlyDirectory) {
  TempDir dir;
  auto path = dir / "sub" / "token";
  EXPECT_TRUE(create_secret_file(path, "s3cret"));
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir / "sub"), 0700u);
  EXPECT_EQ(read_secret_file(path), "s3cret");
}

TEST(SecretFile, NeverOverwritesAnExistingFile) {
  TempDir dir;
  auto path = dir / "token";
  write_file(path, "first\n", 0600);
  EXPECT_FALSE(create_secret_file(path, "second"));
  EXPECT_EQ(read_secret_file(path), "first");
}

TEST(SecretFile, RefusesAFileGroupOrOthersMayRead) {
  TempDir dir;
  auto path = dir / "token";
  write_file(path, "abc\n", 0644);
  auto why = error_of(path);
  EXPECT_NE(why.find(path.string()), std::string::npos) << why;
  EXPECT_NE(why.find("chmod 600"), std::string::npos) << why;
  write_file(path, "abc\n", 0620);
  EXPECT_NE(error_of(path).find("chmod 600"), std::string::npos);
}

TEST(SecretFile, RefusesMissingAndEmptyFilesNamingThem) {
  TempDir dir;
  EXPECT_NE(error_of(dir / "absent").find("absent"), std::string::npos);
  write_file(dir / "empty", " \n\n", 0600);
  auto why = error_of(dir / "empty");
  EXPECT_NE(why.find("empty"), std::string::npos) << why;
  EXPECT_NE(why.find("is empty"), std::string::npos) << why;
}

}  // namespace
}  // namespace outboard::core
