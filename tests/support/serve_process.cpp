#include "support/serve_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "core/random.hpp"
#include "core/secret_file.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

// Generous: sanitizer builds under a parallel ctest start much slower than a plain debug build.
constexpr auto kServeStartTimeout = std::chrono::seconds(20);


std::string join(std::vector<std::string> const& items, char sep) {
  std::string out;
  for (auto const& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

}  // namespace

std::string make_session_key() { return core::hex_encode(core::random_bytes(32)); }

ServeProcess::ServeProcess(ServeOptions options)
    : keys_(options.session_keys.empty() ? std::vector<std::string>{make_session_key()} : options.session_keys),
      port_(options.port != 0 ? options.port : free_port()),
      instance_(options.name + "-" + core::hex_encode(core::random_bytes(4))) {
  std::string blobs = options.blobs.empty() ? "file://" + (dir_ / "blobs").string() : options.blobs;
  blobs_dir_ = blobs.starts_with("file://") ? std::filesystem::path(blobs.substr(7)) : std::filesystem::path();
  std::vector<std::string> argv{OUTBOARD_BINARY,
                                "serve",
                                "--state", options.state,
                                "--port", std::to_string(port_),
                                "--instance", instance_,
                                "--kdf", "min",
                                "--threads", std::to_string(options.threads),
                                "--blobs", blobs};
  if (options.keys_in_store) {
    keys_.clear();
  } else {
    // In a 0600 file, as a deployment would: keys on argv are refused.
    auto keys_file = dir_ / "session-keys";
    core::create_secret_file(keys_file, join(keys_, '\n'));
    argv.push_back("--session-keys-file");
    argv.push_back(keys_file.string());
  }
  for (auto& a : options.extra_args) argv.push_back(a);
  process_ = std::make_unique<ChildProcess>(std::move(argv), std::move(options.env), dir_ / "serve.log");
  if (options.wait_healthy) wait_until_healthy();
}

ServeProcess::~ServeProcess() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- log of outboard serve " << instance_ << " (port " << port_ << ") ----\n"
              << log() << "---- end of log ----\n";
  }
  // process_ SIGKILLs and reaps the process if it is still running.
}

std::string ServeProcess::log() const { return read_log(dir_ / "serve.log"); }

void ServeProcess::wait_until_healthy() {
  auto deadline = std::chrono::steady_clock::now() + kServeStartTimeout;
  std::string last;
  for (;;) {
    if (!process_->running()) {
      throw std::runtime_error("outboard serve " + instance_ + " exited during start-up (status " +
                               std::to_string(process_->wait(0).value_or(-1)) + "); log:\n" + log());
    }
    if (!RawConnection::refused(port_)) {
      try {
        HttpClient client(port_);
        auto res = client.get("/healthz");
        if (res.status == 200 && res.header("X-Served-By") == instance_) return;
        last = "GET /healthz answered " + std::to_string(res.status) + " from " +
               res.header("X-Served-By").value_or("(no X-Served-By)");
      } catch (std::exception const& e) {
        last = e.what();
      }
    } else {
      last = "connection refused";
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.reset();  // SIGKILL + reap
      throw std::runtime_error("outboard serve " + instance_ + " on port " + std::to_string(port_) +
                               " was not healthy within " + std::to_string(kServeStartTimeout.count()) + " s (" +
                               last + "); log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

CommandResult run_outboard(std::vector<std::string> args, std::map<std::string, std::string> env, int timeout_ms) {
  TempDir scratch;
  // `env -C DIR` runs the binary in the scratch directory (same pid: env execs it).
  std::vector<std::string> argv{"/usr/bin/env", "-C", scratch.path().string(), OUTBOARD_BINARY};
  for (auto& a : args) argv.push_back(std::move(a));
  auto log = scratch / "output.log";
  CommandResult result;
  {
    ChildProcess child(std::move(argv), std::move(env), log);
    result.exit_code = child.wait(timeout_ms);
    // Not exited in time: the destructor SIGKILLs and reaps it; exit_code stays nullopt.
  }
  result.output = read_log(log);
  return result;
}

}  // namespace outboard::testing
