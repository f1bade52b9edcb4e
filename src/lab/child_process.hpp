#pragma once
// A process the lab started and owns: fork/exec, in its own process group (a Ctrl-C on the
// terminal reaches the lab, which then tears everything down in order), and PR_SET_PDEATHSIG so
// it dies with the lab even when the lab is killed with SIGKILL. Stopped by its pid, never left
// behind: the destructor SIGKILLs and reaps it.
//
// PDEATHSIG fires when the *thread* that forked exits, so the lab forks only from its main
// thread, which lives as long as the lab.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace outboard::lab {

class ChildProcess {
 public:
  // argv[0] is the program path. stdout and stderr are appended to log_file. The environment is
  // the lab's without its OUTBOARD_* variables. Throws
  // std::runtime_error when fork fails; an exec failure shows as exit code 127.
  ChildProcess(std::vector<std::string> argv, std::filesystem::path log_file);
  ~ChildProcess();
  ChildProcess(ChildProcess const&) = delete;
  ChildProcess& operator=(ChildProcess const&) = delete;

  pid_t pid() const { return pid_; }
  std::filesystem::path const& log_file() const { return log_file_; }
  // Sends sig unless the process was already reaped.
  void signal(int sig) const;
  // Reaps without blocking: the exit code (128+signal when killed), or nullopt while it runs.
  std::optional<int> poll();
  bool running() { return !poll().has_value(); }
  // Blocks until it exits (its exit code) or `timeout` passes (nullopt). For start-up and tests;
  // the lab's event loop waits with process_wait.hpp instead.
  std::optional<int> wait_blocking(std::chrono::milliseconds timeout);
  // SIGKILL and reap, blocking (a SIGKILLed process goes at once).
  void kill_now();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_file_;
};

// Whether every thread of process `pid` is stopped ('T' in /proc/PID/task/TID/stat). kill(SIGSTOP)
// returns before they all are: what a stopped process holds is known only once this says yes.
bool every_thread_stopped(pid_t pid);

// A child's whole output file ("" when unreadable): what a short command (psql, redis-cli) printed.
std::string read_output(std::filesystem::path const& file);

// The last `bytes` of a log file, for error messages ("(no log)" when unreadable).
std::string log_tail(std::filesystem::path const& file, std::size_t bytes = 1500);

}  // namespace outboard::lab
