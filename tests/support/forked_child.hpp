#pragma once
// Waiting for a child a test fork()ed itself (to have two processes on one store), by its pid.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

namespace outboard::testing {

// The child's exit code (128 + signal when it was killed); -1 when it outlived `limit`, in which
// case it is killed and reaped. Polled every 10 ms: the bound is a deadlock guard, not a timing.
inline int wait_forked_child(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace outboard::testing
