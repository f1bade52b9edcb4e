#include "support/s3_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace outboard::testing {
namespace {

constexpr auto kS3StartTimeout = std::chrono::seconds(20);

std::string read_text(std::filesystem::path const& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool node_on_path() {
  std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "");
  for (std::string entry; std::getline(path, entry, ':');) {
    if (!entry.empty() && ::access((std::filesystem::path(entry) / "node").c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

// The source tree's tests/interop: the nearest ancestor of the test binary that holds it (found
// from the binary, not __FILE__, which ccache's base_dir may make relative).
std::filesystem::path S3Server::interop_dir() {
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  for (; dir.has_relative_path(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "tests/interop/s3rver_launch.mjs")) return dir / "tests/interop";
  }
  return {};
}

std::string S3Server::what_is_missing() {
  if (!node_on_path()) return "node is not on PATH";
  auto dir = interop_dir();
  if (dir.empty()) return "tests/interop/s3rver_launch.mjs not found above this test binary";
  if (!std::filesystem::exists(dir / "node_modules/s3rver/package.json")) return "tests/interop/node_modules lacks s3rver";
  return {};
}

S3Server::S3Server() {
  auto log = dir_ / "s3rver.log";
  std::filesystem::create_directories(dir_ / "data");
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"node", (interop_dir() / "s3rver_launch.mjs").string(), (dir_ / "data").string(), kBucket},
      std::map<std::string, std::string>{}, log);
  auto deadline = std::chrono::steady_clock::now() + kS3StartTimeout;
  constexpr std::string_view kReady = "s3rver port ";
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = read_text(log);
    if (auto at = text.find(kReady); at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + kReady.size())));
      return;
    }
    if (!process_->running()) throw std::runtime_error("s3rver exited at start: " + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the log, bounded above
  }
  throw std::runtime_error("s3rver did not report its port within 20 s: " + read_text(log));
}

S3Server::~S3Server() {
  process_->signal(SIGTERM);
  if (!process_->wait(5000)) {
    process_->signal(SIGKILL);
    process_->wait(5000);
  }
}

}  // namespace outboard::testing
