#include "core/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace outboard::core {
namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// The fields of /proc/self/stat after the command name (which may hold spaces), 0-based from
// field 3 ("state").
std::optional<std::vector<std::string>> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  if (fields.size() < 22) return std::nullopt;
  return fields;
}

std::optional<double> boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      if (in >> t) return t;
      return std::nullopt;
    }
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

std::optional<long> open_fds() {
  std::error_code ec;
  long n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  if (ec) return std::nullopt;
  return n - 1;  // the directory iterator's own descriptor
}

}  // namespace

void render_process_metrics(std::string& out, std::string_view command) {
  family(out, "outboard_build_info", "gauge", "The running build: always 1, with the version and the command as labels.");
  out += fmt::format("outboard_build_info{{version=\"{}\",command=\"{}\"}} 1\n", OUTBOARD_VERSION, command);

  auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (auto f = stat_fields(); f && ticks > 0) {
    // Fields (from "state" = 0): utime 11, stime 12, starttime 19, vsize 20, rss 21 (pages).
    double cpu = (std::stod((*f)[11]) + std::stod((*f)[12])) / ticks;
    family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
    out += fmt::format("process_cpu_seconds_total {:.2f}\n", cpu);
    family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    out += fmt::format("process_virtual_memory_bytes {}\n", (*f)[20]);
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out += fmt::format("process_resident_memory_bytes {:.0f}\n", std::stod((*f)[21]) * page);
    if (auto boot = boot_time_seconds()) {
      family(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.");
      out += fmt::format("process_start_time_seconds {:.2f}\n", *boot + std::stod((*f)[19]) / ticks);
    }
  }
  if (auto fds = open_fds()) {
    family(out, "process_open_fds", "gauge", "Open file descriptors.");
    out += fmt::format("process_open_fds {}\n", *fds);
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    family(out, "process_max_fds", "gauge", "The most file descriptors the process may open.");
    out += fmt::format("process_max_fds {}\n", static_cast<unsigned long long>(limit.rlim_cur));
  }
}

}  // namespace outboard::core
