#pragma once
#include <filesystem>
#include <string>

namespace outboard::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(TempDir const&) = delete;
  TempDir& operator=(TempDir const&) = delete;
  std::filesystem::path const& path() const { return path_; }
  std::filesystem::path operator/(std::string const& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A child process's log file, whole; "(no log at PATH)" when there is none, for failure messages.
std::string read_log(std::filesystem::path const& path);

}  // namespace outboard::testing
