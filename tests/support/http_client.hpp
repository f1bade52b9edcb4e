#pragma once
// A tiny blocking HTTP/1.1 client for integration tests, and the raw loopback connection it is
// built on. Every wait (connect, send, receive) is bounded, so a test that meets a silent server
// fails with an exception instead of hanging. No coroutines: plain sockets and poll(2), with
// Beast's parser for the responses.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outboard::testing {

// How long any single wait may take before the client gives up (and the test fails).
inline constexpr std::chrono::milliseconds kHttpTimeout{10'000};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HeaderList headers;  // in the order received
  std::string body;

  // The first header called `name` (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  // Every header called `name` (Set-Cookie may come several times).
  std::vector<std::string> headers_named(std::string_view name) const;
  // The body as JSON; a discarded value when it is not JSON.
  nlohmann::json json() const;
};

// A blocking TCP connection to 127.0.0.1:port. Bytes go out exactly as given, so a test can
// send half a request, or a malformed one. Move-only; closes on destruction.
class RawConnection {
 public:
  // Throws std::runtime_error when the connection cannot be made within the timeout.
  explicit RawConnection(std::uint16_t port, std::chrono::milliseconds timeout = kHttpTimeout);
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  RawConnection(RawConnection const&) = delete;
  RawConnection& operator=(RawConnection const&) = delete;

  // True when a connection attempt to the port is refused: nobody listens there.
  static bool refused(std::uint16_t port);

  // Sends every byte; throws on error or when the peer stops reading for longer than the timeout.
  void send(std::string_view bytes);
  // Like send, but returns false instead of throwing (the peer may have closed after answering).
  bool try_send(std::string_view bytes);
  // Reads one HTTP response (a 1xx interim response counts as one). Throws on timeout, or when
  // the connection closes before a whole response arrived. A response to HEAD has no body
  // whatever its Content-Length says: pass head_request = true.
  HttpResponse read_response(bool head_request = false);
  // Receives until the bytes not yet read as a response contain `needle` (they stay there for
  // read_response). False on EOF first; throws on timeout, like every wait here.
  bool receive_until(std::string_view needle);
  // Waits until the peer closes the connection (EOF or reset), discarding anything it sends.
  // False when it is still open after `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout = kHttpTimeout);
  // Half-closes our side (no more bytes will be sent).
  void shutdown_send();

 private:
  // Receives more bytes into buffer_; returns false on EOF. Throws on timeout or error.
  bool receive_more();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;  // received, not yet parsed
};

// One "browser": requests over fresh connections, with a cookie jar shared by every request
// this object makes, whichever port it sends to (request_to), so a session started on one
// instance can be presented to another.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : port_(port) {}

  // method is "GET", "POST", ...; body is sent with Content-Type: application/json unless the
  // headers name another Content-Type. A Cookie header in `headers` replaces the jar for this
  // request. Set-Cookie in the response updates the jar. Throws on network errors/timeouts.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       HeaderList const& headers = {});
  HttpResponse request_to(std::uint16_t port, std::string_view method, std::string_view target,
                          std::string_view body = {}, HeaderList const& headers = {});

  HttpResponse get(std::string_view target) { return request("GET", target); }
  HttpResponse post(std::string_view target, std::string_view body = {}) { return request("POST", target, body); }

  std::uint16_t port() const { return port_; }
  void set_port(std::uint16_t port) { port_ = port; }

  // The cookie jar: name -> value.
  std::map<std::string, std::string> const& cookies() const { return jar_; }
  std::optional<std::string> cookie(std::string const& name) const;
  void set_cookie(std::string const& name, std::string const& value) { jar_[name] = value; }
  void clear_cookies() { jar_.clear(); }

 private:
  void update_jar(HttpResponse const& response);
  std::uint16_t port_;
  std::map<std::string, std::string> jar_;
};

// A JSON body for /signup and /login.
std::string credentials_json(std::string const& user, std::string const& password);

// The SHA-256 of `bytes` as 64 lowercase hex characters (what /uploads reports).
std::string sha256_hex(std::string_view bytes);

// One request for request_together: where it goes and what it is.
struct PortRequest {
  std::uint16_t port = 0;
  std::string method;
  std::string target;
  std::string body;
  HeaderList headers;
};

// Sends every request at (nearly) the same moment: one thread each, each with its own copy of
// `client` (so its cookies), released together once all threads are ready. Returns the answers
// in the order given; an exception in any thread (network error, timeout) is rethrown here after
// every thread has finished. The cookie jar of `client` is not updated.
std::vector<HttpResponse> request_together(HttpClient const& client, std::vector<PortRequest> const& requests);

}  // namespace outboard::testing
