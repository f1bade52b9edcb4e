#include "lab/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace outboard::lab {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::filesystem::path log_file)
    : log_file_(std::move(log_file)) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // The lab configures its servers, gateway and store completely (config files and flags), so
  // none of the operator's OUTBOARD_* variables reach them: an OUTBOARD_SERVE_... in the shell
  // would silently change the experiment, and the lab's own OUTBOARD_LAB_... would be refused by
  // `serve` as unknown settings. Built before fork: nothing after it may allocate.
  std::vector<char*> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::string_view(*entry).starts_with("OUTBOARD_")) continue;
    env.push_back(*entry);
  }
  env.push_back(nullptr);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed starting " + argv.at(0));
  if (pid_ == 0) {
    // Only async-signal-safe calls from here to exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the lab died between fork and prctl
    setpgid(0, 0);
    int out = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) dup2(in, 0);
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() { kill_now(); }

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::poll() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

std::optional<int> ChildProcess::wait_blocking(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void ChildProcess::kill_now() {
  if (pid_ <= 0 || status_) return;
  ::kill(pid_, SIGKILL);
  ::kill(pid_, SIGCONT);  // a stopped process takes SIGKILL anyway; this is belt and braces
  int st = 0;
  if (waitpid(pid_, &st, 0) == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool every_thread_stopped(pid_t pid) {
  std::error_code ec;
  for (auto const& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string stat = read_output(task.path() / "stat");
    auto close = stat.rfind(')');  // "tid (name) S ...": the name may hold spaces or ')'
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T') return false;
  }
  return !ec;
}

std::string read_output(std::filesystem::path const& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string log_tail(std::filesystem::path const& file, std::size_t bytes) {
  if (!std::filesystem::exists(file)) return "(no log at " + file.string() + ")";
  std::string text = read_output(file);
  if (text.size() > bytes) text = "..." + text.substr(text.size() - bytes);
  return text;
}

}  // namespace outboard::lab
