#pragma once
// A child process the test owns: started with fork/exec, stopped by its pid, never left behind
// (the destructor SIGKILLs and reaps it if the test did not stop it).
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace outboard::testing {

class ChildProcess {
 public:
  // argv[0] is the program path. env entries are added to (or override) the test's environment.
  // stdout and stderr go to log_file when given (appended), else to /dev/null.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
               std::optional<std::filesystem::path> log_file = {});
  ~ChildProcess();
  ChildProcess(ChildProcess const&) = delete;
  ChildProcess& operator=(ChildProcess const&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for exit and returns the exit code, or 128+signal if it was killed by one.
  // Returns nullopt when it has not exited within timeout_ms.
  std::optional<int> wait(int timeout_ms);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace outboard::testing
