// The process families are read from /proc/self: this process's own numbers must come out, each
// family with HELP and TYPE, in the names Prometheus client libraries use.
#include "core/process_metrics.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace outboard::core {
namespace {

// The value of a sample line "<name> <value>" (-1 when absent).
double sample(std::string const& text, std::string const& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(ProcessMetrics, EveryFamilyHasHelpAndTypeAndThisProcesssValues) {
  std::string text;
  render_process_metrics(text, "test");
  for (char const* name : {"outboard_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name << "\n" << text;
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name << "\n" << text;
  }
  EXPECT_NE(text.find("outboard_build_info{version=\"" OUTBOARD_VERSION "\",command=\"test\"} 1\n"), std::string::npos)
      << text;
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 0) << text;
  EXPECT_GT(sample(text, "process_start_time_seconds"), 1.6e9) << text;  // after 2020
}

TEST(ProcessMetrics, OpenFdsFollowsTheDescriptorsThisProcessOpens) {
  std::string before;
  render_process_metrics(before, "test");
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string during;
  render_process_metrics(during, "test");
  ::close(fd);
  EXPECT_EQ(sample(during, "process_open_fds"), sample(before, "process_open_fds") + 1) << before << during;
}

}  // namespace
}  // namespace outboard::core
