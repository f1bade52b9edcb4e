#include "core/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace outboard::core {
namespace {

[[noreturn]] void fail(std::filesystem::path const& path, std::string const& why) {
  throw std::runtime_error(path.string() + ": " + why);
}

std::string trimmed(std::string s) {
  auto const blank = " \t\r\n";
  auto first = s.find_first_not_of(blank);
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(blank);
  return s.substr(first, last - first + 1);
}

}  // namespace

std::string read_secret_file(std::filesystem::path const& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  if ((st.st_mode & 077) != 0) {
    fail(path, "holds a secret but group or others may access it: chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = trimmed(text.str());
  if (secret.empty()) fail(path, "is empty");
  return secret;
}

bool create_secret_file(std::filesystem::path const& path, std::string const& contents) {
  auto dir = path.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (std::filesystem::create_directories(dir, ec)) {
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    if (ec) fail(dir, "cannot create the directory: " + ec.message());
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    fail(path, std::strerror(errno));
  }
  std::string line = contents + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    fail(path, "cannot be written");
  }
  return true;
}

}  // namespace outboard::core
