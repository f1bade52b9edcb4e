#include "support/http_client.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace outboard::testing {
namespace {

namespace bhttp = boost::beast::http;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string errno_text(int err) { return std::string(std::strerror(err)); }

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Connects a non-blocking socket with a bounded wait. Returns the fd, or -1 with `err` set.
int connect_bounded(std::uint16_t port, std::chrono::milliseconds timeout, int& err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  sockaddr_in addr = loopback(port);
  // sockaddr_in -> sockaddr is how the socket API is spelled; there is no cast-free form.
  void* raw = &addr;
  if (::connect(fd, static_cast<sockaddr*>(raw), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      err = errno;
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n <= 0) {
      err = n == 0 ? ETIMEDOUT : errno;
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      err = so_error;
      ::close(fd);
      return -1;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  err = 0;
  return fd;
}

}  // namespace

// ---- HttpResponse -------------------------------------------------------------------------

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (auto const& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (auto const& [k, v] : headers) {
    if (iequals(k, name)) out.push_back(v);
  }
  return out;
}

nlohmann::json HttpResponse::json() const { return nlohmann::json::parse(body, nullptr, false); }

// ---- RawConnection ------------------------------------------------------------------------

RawConnection::RawConnection(std::uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  int err = 0;
  fd_ = connect_bounded(port, timeout, err);
  if (fd_ < 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + errno_text(err));
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), timeout_(other.timeout_), buffer_(std::move(other.buffer_)) {}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

bool RawConnection::refused(std::uint16_t port) {
  int err = 0;
  int fd = connect_bounded(port, std::chrono::milliseconds(2000), err);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return err == ECONNREFUSED;
}

bool RawConnection::try_send(std::string_view bytes) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
      continue;
    }
    return false;
  }
  return true;
}

void RawConnection::send(std::string_view bytes) {
  if (!try_send(bytes)) throw std::runtime_error("send failed or timed out: " + errno_text(errno));
}

void RawConnection::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

bool RawConnection::receive_more() {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return false;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw std::runtime_error("recv failed: " + errno_text(errno));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error("no response within " + std::to_string(timeout_.count()) + " ms");
    }
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

bool RawConnection::receive_until(std::string_view needle) {
  while (buffer_.find(needle) == std::string::npos) {
    if (!receive_more()) return false;
  }
  return true;
}

HttpResponse RawConnection::read_response(bool head_request) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head_request);
  parser.eager(true);
  parser.body_limit(boost::none);
  for (;;) {
    if (!buffer_.empty()) {
      boost::system::error_code ec;
      std::size_t used = parser.put(boost::asio::buffer(buffer_), ec);
      buffer_.erase(0, used);
      if (ec && ec != bhttp::error::need_more) {
        throw std::runtime_error("malformed HTTP response: " + ec.message());
      }
      if (parser.is_done()) break;
      if (!ec && used > 0) continue;  // the parser may take the rest in another call
    }
    if (!receive_more()) {
      if (!parser.got_some()) throw std::runtime_error("the connection closed without a response");
      boost::system::error_code ec;
      parser.put_eof(ec);
      if (ec || !parser.is_done()) {
        throw std::runtime_error("the connection closed before a whole response arrived (" +
                                 std::to_string(buffer_.size()) + " bytes unparsed)");
      }
      break;
    }
  }
  auto message = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(message.result_int());
  for (auto const& field : message) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(message.body());
  return out;
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset: closed too
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

// ---- HttpClient ---------------------------------------------------------------------------

std::optional<std::string> HttpClient::cookie(std::string const& name) const {
  auto it = jar_.find(name);
  if (it == jar_.end()) return std::nullopt;
  return it->second;
}

HttpResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                 HeaderList const& headers) {
  return request_to(port_, method, target, body, headers);
}

HttpResponse HttpClient::request_to(std::uint16_t port, std::string_view method, std::string_view target,
                                    std::string_view body, HeaderList const& headers) {
  bool has_type = false;
  bool has_cookie = false;
  for (auto const& [k, v] : headers) {
    if (iequals(k, "Content-Type")) has_type = true;
    if (iequals(k, "Cookie")) has_cookie = true;
  }
  std::string wire;
  wire.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  wire.append("Host: 127.0.0.1:").append(std::to_string(port)).append("\r\n");
  wire.append("User-Agent: outboard-integration-tests\r\n");
  wire.append("Connection: close\r\n");
  for (auto const& [k, v] : headers) wire.append(k).append(": ").append(v).append("\r\n");
  if (!has_cookie && !jar_.empty()) {
    std::string cookie;
    for (auto const& [k, v] : jar_) {
      if (!cookie.empty()) cookie += "; ";
      cookie += k + "=" + v;
    }
    wire.append("Cookie: ").append(cookie).append("\r\n");
  }
  bool bodiless = body.empty() && (method == "GET" || method == "HEAD" || method == "DELETE");
  if (!bodiless) {
    if (!has_type && !body.empty()) wire.append("Content-Type: application/json\r\n");
    wire.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  wire.append("\r\n").append(body);

  RawConnection conn(port);
  // A server may answer (413) and close before reading everything: still read its answer.
  bool sent = conn.try_send(wire);
  HttpResponse response;
  try {
    do {
      response = conn.read_response(method == "HEAD");
    } while (response.status >= 100 && response.status < 200);
  } catch (std::exception const& e) {
    throw std::runtime_error(std::string(method) + " " + std::string(target) + " on port " +
                             std::to_string(port) + (sent ? "" : " (request not fully sent)") + ": " + e.what());
  }
  update_jar(response);
  return response;
}

void HttpClient::update_jar(HttpResponse const& response) {
  for (auto const& line : response.headers_named("Set-Cookie")) {
    std::string_view rest = line;
    auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name = trim(pair.substr(0, eq));
    std::string value = trim(pair.substr(eq + 1));
    bool expired = false;
    while (semi != std::string_view::npos) {
      rest = rest.substr(semi + 1);
      semi = rest.find(';');
      std::string attr = trim(rest.substr(0, semi));
      if (attr.size() >= 8 && iequals(std::string_view(attr).substr(0, 8), "Max-Age=")) {
        std::string_view age = std::string_view(attr).substr(8);
        if (!age.empty() && (age.front() == '-' || age == "0")) expired = true;
      }
    }
    if (expired) {
      jar_.erase(name);
    } else {
      jar_[name] = value;
    }
  }
}

std::string credentials_json(std::string const& user, std::string const& password) {
  return nlohmann::json{{"user", user}, {"password", password}}.dump();
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(sha256) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

std::vector<HttpResponse> request_together(HttpClient const& client, std::vector<PortRequest> const& requests) {
  std::vector<HttpResponse> answers(requests.size());
  std::vector<std::exception_ptr> errors(requests.size());
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t ready = 0;
  bool go = false;
  std::vector<std::thread> threads;
  threads.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        HttpClient own = client;  // its own jar: the threads share the cookie, not the object
        {
          std::unique_lock lock(mutex);
          ++ready;
          cv.notify_all();
          cv.wait(lock, [&] { return go; });
        }
        auto const& r = requests[i];
        answers[i] = own.request_to(r.port, r.method, r.target, r.body, r.headers);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  {
    std::unique_lock lock(mutex);
    // Bounded: a thread that cannot even start is a broken test machine, not a hang.
    cv.wait_for(lock, kHttpTimeout, [&] { return ready == requests.size(); });
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  for (auto const& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return answers;
}

}  // namespace outboard::testing
