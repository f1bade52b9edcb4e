#include "lab/user_agent.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using core::use_nothrow;

Reply failed(Failure kind, std::string what) {
  Reply r;
  r.failure = kind;
  r.error = std::move(what);
  return r;
}

Failure classify(beast::error_code ec) {
  if (ec == beast::error::timeout) return Failure::timeout;
  return Failure::broken;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

UserAgent::UserAgent(asio::any_io_executor executor, std::uint16_t port, std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), ports_{port}, timeout_(timeout) {}

UserAgent::UserAgent(asio::any_io_executor executor, std::vector<std::uint16_t> ports, std::size_t first,
                     std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), ports_(std::move(ports)), timeout_(timeout) {
  if (ports_.empty()) ports_.push_back(0);
  current_ = first % ports_.size();
}

asio::awaitable<beast::error_code> UserAgent::connect() {
  beast::error_code first_error;
  for (std::size_t tried = 0; tried < ports_.size(); ++tried) {
    std::size_t index = (current_ + tried) % ports_.size();
    if (tried > 0) {
      stream_.emplace(executor_);
      stream_->expires_after(timeout_);
    }
    asio::ip::tcp::endpoint where(asio::ip::address_v4::loopback(), ports_[index]);
    auto [ec] = co_await stream_->async_connect(where, use_nothrow);
    if (!ec) {
      if (tried > 0) {
        current_ = index;
        ++moves_;
      }
      co_return ec;
    }
    if (tried == 0) first_error = ec;
    // Only a refusal (nobody listens: the gateway is gone) moves the user; a timeout is not a
    // death, and a browser waits on the address it has.
    if (ec != asio::error::connection_refused) break;
  }
  co_return first_error;
}

void UserAgent::close() {
  if (stream_) {
    beast::error_code ignored;
    stream_->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_->close();
  }
  stream_.reset();
  buffer_.clear();
}

asio::awaitable<Reply> UserAgent::send(Call call) {
  bool reused_and_silent = false;
  Reply reply = co_await attempt(call, reused_and_silent);
  if (reused_and_silent) {
    // As browsers do: the idle connection was gone; that is not the request's failure.
    bool again = false;
    reply = co_await attempt(call, again);
  }
  co_return reply;
}

asio::awaitable<Reply> UserAgent::attempt(Call const& call, bool& reused_and_silent) {
  reused_and_silent = false;
  bool reused = stream_.has_value();
  if (!stream_) {
    stream_.emplace(executor_);
    buffer_.clear();
    stream_->expires_after(timeout_);
    auto ec = co_await connect();
    if (ec) {
      close();
      Failure kind = ec == beast::error::timeout ? Failure::timeout : Failure::connect;
      co_return failed(kind, "connect: " + ec.message());
    }
    stream_->socket().set_option(asio::ip::tcp::no_delay(true));
  }
  bhttp::request<bhttp::string_body> req{call.method, call.target, 11};
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port()));
  req.set(bhttp::field::user_agent, "outboard-lab");
  if (auto cookies = cookie_header(); !cookies.empty()) req.set(bhttp::field::cookie, cookies);
  if (!device_.empty()) req.set(kDeviceHeader, device_);
  for (auto const& [name, value] : call.headers) req.set(name, value);
  if (!call.content_type.empty()) req.set(bhttp::field::content_type, call.content_type);
  req.body() = call.body;
  req.prepare_payload();

  stream_->expires_after(timeout_);
  auto [wec, written] = co_await bhttp::async_write(*stream_, req, use_nothrow);
  if (wec) {
    close();
    reused_and_silent = reused && wec != beast::error::timeout;
    co_return failed(classify(wec), "send: " + wec.message());
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  auto [rec, got] = co_await bhttp::async_read(*stream_, buffer_, parser, use_nothrow);
  if (rec) {
    bool nothing_came = got == 0 && !parser.got_some();
    close();
    reused_and_silent = reused && nothing_came && rec != beast::error::timeout;
    co_return failed(classify(rec), "receive: " + rec.message());
  }
  auto res = parser.release();
  std::vector<std::string> set_cookies;
  for (auto const& field : res.base()) {
    if (field.name() == bhttp::field::set_cookie) set_cookies.emplace_back(field.value());
  }
  remember_cookies(set_cookies);
  Reply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.served_by = std::string(res["X-Served-By"]);
  reply.body = std::move(res.body());
  if (!res.keep_alive()) close();
  co_return reply;
}

void UserAgent::remember_cookies(std::vector<std::string> const& set_cookie_headers) {
  for (auto const& header : set_cookie_headers) {
    std::string_view rest = header;
    auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name = trim(pair.substr(0, eq));
    std::string value = trim(pair.substr(eq + 1));
    bool expired = value.empty();
    while (semi != std::string_view::npos) {
      rest.remove_prefix(semi + 1);
      semi = rest.find(';');
      std::string attr = trim(rest.substr(0, semi));
      if (iequals_prefix(attr, "max-age=") && std::atoll(attr.c_str() + 8) <= 0) expired = true;
    }
    if (expired) {
      cookies_.erase(name);
    } else {
      cookies_[name] = value;
    }
  }
}

std::string UserAgent::cookie_header() const {
  std::string out;
  for (auto const& [name, value] : cookies_) {
    if (!out.empty()) out += "; ";
    out += name + "=" + value;
  }
  return out;
}

}  // namespace outboard::lab
