#include "support/test_backend.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "core/random.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

#ifndef OUTBOARD_TEST_BACKEND
#error "OUTBOARD_TEST_BACKEND (the path of outboard_test_backend) must be defined by the build"
#endif

namespace outboard::testing {
namespace {

constexpr auto kBackendStartTimeout = std::chrono::seconds(20);


}  // namespace

TestBackend::TestBackend(std::string name, std::uint16_t port)
    : name_(std::move(name) + "-" + core::hex_encode(core::random_bytes(3))) {
  std::string why;
  // A free port may be taken by someone else before the backend binds it: try a few.
  int tries = port == 0 ? 3 : 1;
  for (int i = 0; i < tries; ++i) {
    if (start(port == 0 ? free_port() : port, why)) return;
  }
  throw std::runtime_error("outboard_test_backend " + name_ + " did not start: " + why + "; log:\n" + log());
}

TestBackend::~TestBackend() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- log of outboard_test_backend " << name_ << " (port " << port_ << ") ----\n"
              << log() << "---- end of log ----\n";
  }
  // process_ SIGKILLs and reaps it (SIGKILL also ends a stopped process).
}

bool TestBackend::start(std::uint16_t port, std::string& why) {
  port_ = port;
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{OUTBOARD_TEST_BACKEND, "--port", std::to_string(port), "--name", name_},
      std::map<std::string, std::string>{}, dir_ / "backend.log");
  auto deadline = std::chrono::steady_clock::now() + kBackendStartTimeout;
  for (;;) {
    if (!process_->running()) {
      why = "exited during start-up (status " + std::to_string(process_->wait(0).value_or(-1)) + ")";
      return false;
    }
    if (!RawConnection::refused(port_)) {
      try {
        HttpClient client(port_);
        auto res = client.get("/_count");
        if (res.status == 200 && res.header("X-Served-By") == name_) return true;
        why = "GET /_count answered " + std::to_string(res.status) + " from " +
              res.header("X-Served-By").value_or("(no X-Served-By)");
      } catch (std::exception const& e) {
        why = e.what();
      }
    } else {
      why = "connection refused";
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.reset();
      why = "not answering on port " + std::to_string(port_) + " within 20 s (" + why + ")";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void TestBackend::kill() {
  process_->signal(SIGKILL);
  process_->wait(10'000);
}

nlohmann::json TestBackend::counts() const {
  HttpClient client(port_);
  auto res = client.get("/_count");
  if (res.status != 200 || res.header("X-Served-By") != name_) {
    throw std::runtime_error("GET /_count on " + name_ + " answered " + std::to_string(res.status));
  }
  return res.json();
}

std::uint64_t TestBackend::count(std::string const& path) const {
  auto c = counts();
  if (path.empty()) return c.value("total", std::uint64_t{0});
  auto const& paths = c["paths"];
  return paths.contains(path) ? paths[path].get<std::uint64_t>() : 0;
}

void TestBackend::reset_counts() const {
  HttpClient client(port_);
  if (client.post("/_reset_counts").status != 200) throw std::runtime_error("POST /_reset_counts failed on " + name_);
}

void TestBackend::set_ready(bool ready) const {
  HttpClient client(port_);
  if (client.post(ready ? "/_ready" : "/_unready").status != 200) {
    throw std::runtime_error("setting readiness failed on " + name_);
  }
}

std::string TestBackend::log() const { return read_log(dir_ / "backend.log"); }

// ---- ByteSocket ---------------------------------------------------------------------------

ByteSocket::ByteSocket(std::uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  void* raw = &addr;
  // Loopback: a connect either succeeds or is refused at once.
  if (::connect(fd_, static_cast<sockaddr*>(raw), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(err));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

ByteSocket::~ByteSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void ByteSocket::send(std::string_view bytes) {
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) throw std::runtime_error("send timed out");
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
    }
  }
}

void ByteSocket::receive_more() {
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout_.count()));
  if (r == 0) throw std::runtime_error("no bytes within " + std::to_string(timeout_.count()) + " ms");
  if (r < 0) throw std::runtime_error("poll failed");
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
  if (n == 0) throw std::runtime_error("the peer closed the connection");
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return;
    throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
}

std::string ByteSocket::read_until(std::string_view delimiter) {
  for (;;) {
    auto at = buffer_.find(delimiter);
    if (at != std::string::npos) {
      std::string out = buffer_.substr(0, at + delimiter.size());
      buffer_.erase(0, at + delimiter.size());
      return out;
    }
    receive_more();
  }
}

std::string ByteSocket::read_exactly(std::size_t n) {
  while (buffer_.size() < n) receive_more();
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

bool ByteSocket::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return true;
  }
}

}  // namespace outboard::testing
