#include "support/redis_server.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lab/child_process.hpp"
#include "support/free_port.hpp"

namespace outboard::testing {
namespace {

constexpr char const* kRedisServer = "/usr/bin/redis-server";
constexpr auto kRedisStartTimeout = std::chrono::seconds(10);
constexpr char const* kLogName = "redis.log";

// One PING over a plain blocking loopback socket, each step bounded by 200 ms. True only for
// +PONG: a server still loading its AOF answers -LOADING and is not ready yet.
bool answers_ping(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{};
  tv.tv_usec = 200'000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  // sockaddr_in -> sockaddr is how the socket API is spelled; there is no cast-free form.
  void* raw = &addr;
  if (::connect(fd, static_cast<sockaddr*>(raw), sizeof addr) == 0) {
    constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";
    constexpr auto kPingSize = static_cast<ssize_t>(sizeof kPing - 1);
    if (::send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL) == kPingSize) {
      char buf[64];
      std::string got;
      while (got.size() < 7) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
      }
      ok = got.rfind("+PONG\r\n", 0) == 0;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer() : port_(free_port()) {
  if (!std::filesystem::exists(kRedisServer)) {
    throw std::runtime_error(std::string(kRedisServer) + " is missing: install Debian's " +
                             "redis-server (the tests need a real one)");
  }
  start();
}

RedisServer::~RedisServer() = default;  // ChildProcess SIGKILLs and reaps by pid

std::string RedisServer::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

pid_t RedisServer::pid() const { return process_ ? process_->pid() : -1; }

void RedisServer::start() {
  std::vector<std::string> argv{kRedisServer,
                                "--port", std::to_string(port_),
                                "--bind", "127.0.0.1",
                                "--dir", dir_.path().string(),
                                "--save", "",
                                "--appendonly", "yes",
                                "--appendfsync", "always",
                                "--daemonize", "no",
                                "--protected-mode", "no",
                                "--logfile", ""};  // "": stdout, which goes to the log file
  auto log = dir_ / kLogName;
  process_ = std::make_unique<ChildProcess>(std::move(argv),
                                            std::map<std::string, std::string>{}, log);
  auto deadline = std::chrono::steady_clock::now() + kRedisStartTimeout;
  for (;;) {
    if (answers_ping(port_)) return;
    if (!process_->running()) {
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " exited during start-up; log:\n" + lab::log_tail(log, 2000));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.reset();  // SIGKILL + reap
      throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                               " did not answer PING within 10 s; log:\n" + lab::log_tail(log, 2000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void RedisServer::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  if (!process_->wait(10'000)) throw std::runtime_error("redis-server ignored SIGKILL");
}

void RedisServer::restart() {
  if (process_ && process_->running()) kill();
  start();
}

void RedisServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}

void RedisServer::resume() {
  if (process_) process_->signal(SIGCONT);
}

}  // namespace outboard::testing
