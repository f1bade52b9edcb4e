// lab::every_thread_stopped: what the lab and the tests wait for after a SIGSTOP before they look
// at what the stopped process holds.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "lab/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::lab {
namespace {

// Looks until `pid`'s threads are all stopped (or all not), a bounded number of times.
bool settles_to(pid_t pid, bool stopped) {
  for (int look = 0; look < 20000; ++look) {
    if (every_thread_stopped(pid) == stopped) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(EveryThreadStopped, FollowsSigstopAndSigcont) {
  testing::TempDir dir;
  ChildProcess sleeper({"/bin/sleep", "60"}, dir / "sleep.log");
  EXPECT_FALSE(every_thread_stopped(sleeper.pid()));
  sleeper.signal(SIGSTOP);
  EXPECT_TRUE(settles_to(sleeper.pid(), true));
  sleeper.signal(SIGCONT);
  EXPECT_TRUE(settles_to(sleeper.pid(), false));
}

TEST(EveryThreadStopped, AProcessThatIsNotThereIsNotStopped) {
  testing::TempDir dir;
  pid_t gone = 0;
  {
    ChildProcess done({"/bin/true"}, dir / "true.log");
    gone = done.pid();
    done.wait_blocking(std::chrono::seconds(30));
  }
  EXPECT_FALSE(every_thread_stopped(gone));
}

}  // namespace
}  // namespace outboard::lab
