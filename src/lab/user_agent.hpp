#pragma once
// What a browser does for one virtual user: one keep-alive connection to the gateway, a cookie
// jar, a deadline on every request. It never retries on its own except where browsers do too:
// a request that fails on a *reused* connection before a single response byte arrived is sent
// once more on a fresh one (the server may have closed an idle connection in between).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outboard::lab {

// How a request ended when no HTTP response came back.
enum class Failure { none, connect, timeout, broken };

struct Reply {
  Failure failure = Failure::none;
  int status = 0;  // 0 when failure != none
  std::string body;
  std::string served_by;  // X-Served-By
  std::string error;      // what went wrong, for failures
  bool ok() const { return failure == Failure::none && status >= 200 && status < 300; }
};

struct Call {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The header a virtual user names its device with (UserAgent::set_device); the hashed design's
// gateways key their consistent hash on it.
inline constexpr char kDeviceHeader[] = "X-Device";

class UserAgent {
 public:
  UserAgent(boost::asio::any_io_executor executor, std::uint16_t port, std::chrono::milliseconds timeout);
  // Several gateways (`lab --gateways N`): the agent uses ports[first % size] as DNS round robin
  // would have given it, and when a connection to it is refused (that gateway died) it connects
  // to the next port that accepts, as anycast would move it, and stays there. Each such move is
  // counted (moves()).
  UserAgent(boost::asio::any_io_executor executor, std::vector<std::uint16_t> ports, std::size_t first,
            std::chrono::milliseconds timeout);

  // Sends one request and reads its response. Never throws for network trouble.
  boost::asio::awaitable<Reply> send(Call call);

  void forget_cookies() { cookies_.clear(); }
  // An id this agent sends on every request as X-Device, whatever its cookies: what a
  // consistent-hash design keys on (a device outlives its logins, as a mobile app's id does).
  void set_device(std::string id) { device_ = std::move(id); }
  // The Cookie header this agent sends now ("" with an empty jar).
  std::string cookie_header() const;
  bool has_cookie(std::string const& name) const { return cookies_.contains(name); }
  void close();
  // Times this agent moved to another gateway because its own refused the connection.
  std::int64_t moves() const { return moves_; }

 private:
  boost::asio::awaitable<Reply> attempt(Call const& call, bool& reused_and_silent);
  void remember_cookies(std::vector<std::string> const& set_cookie_headers);
  // Connects stream_ to the current port, or, refused there, to the next port that accepts.
  boost::asio::awaitable<boost::system::error_code> connect();
  std::uint16_t port() const { return ports_[current_]; }

  boost::asio::any_io_executor executor_;
  std::vector<std::uint16_t> ports_;  // never empty
  std::size_t current_ = 0;
  std::int64_t moves_ = 0;
  std::chrono::milliseconds timeout_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::map<std::string, std::string> cookies_;
  std::string device_;
};

}  // namespace outboard::lab
