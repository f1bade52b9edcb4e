#include "support/stop_outside_a_write.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "lab/child_process.hpp"
#include "lab/sqlite_lock_probe.hpp"

namespace outboard::testing {
namespace {

constexpr int kStopTries = 200;
// kill() returns before the threads have stopped; looked at every millisecond, for a long while.
constexpr int kStoppedLooks = 20000;

bool stopped_entirely(pid_t pid) {
  for (int look = 0; look < kStoppedLooks; ++look) {
    if (lab::every_thread_stopped(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace

bool stop_outside_a_write(ServeProcess& serve, std::optional<std::filesystem::path> const& sqlite_file) {
  for (int attempt = 0; attempt < kStopTries; ++attempt) {
    serve.signal(SIGSTOP);
    if (!stopped_entirely(serve.pid())) {
      ADD_FAILURE() << "SIGSTOP did not stop every thread of " << serve.pid();
      return false;
    }
    if (!sqlite_file || lab::try_sqlite_write_lock(*sqlite_file) != lab::WriteLock::held) return true;
    serve.signal(SIGCONT);
    std::this_thread::yield();
  }
  ADD_FAILURE() << "the stopped server held the sqlite write lock on every try";
  return false;
}

}  // namespace outboard::testing
