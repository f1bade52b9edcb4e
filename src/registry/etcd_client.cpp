#include "registry/etcd_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "registry/member.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::registry {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace {

using core::use_nothrow;
constexpr std::size_t kMaxAnswerBytes = 16 << 20;
constexpr std::size_t kMaxWatchLineBytes = 4 << 20;

core::Error unavailable(std::string what) { return core::make_error(core::Errc::unavailable, std::move(what)); }

http::request<http::string_body> make_request(Endpoint const& endpoint, std::string const& path, std::string body) {
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, endpoint.host + ":" + std::to_string(endpoint.port));
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// Connects to one endpoint within the stream's deadline.
asio::awaitable<boost::system::error_code> connect(beast::tcp_stream& stream, Endpoint const& endpoint) {
  tcp::resolver resolver(stream.get_executor());
  auto [rec, results] = co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), use_nothrow);
  if (rec) co_return rec;
  auto [cec, ep] = co_await stream.async_connect(results, use_nothrow);
  co_return cec;
}

}  // namespace

std::optional<std::vector<Endpoint>> parse_etcd_url(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "etcd://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "must start with etcd://";
    return std::nullopt;
  }
  std::vector<Endpoint> out;
  std::string_view rest = url.substr(kScheme.size());
  while (true) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    auto host_port = parse_host_port(item);
    if (!host_port) {
      error = "'" + std::string(item) + "' is not host:port";
      return std::nullopt;
    }
    out.push_back({host_port->first, host_port->second});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (out.size() > 16) {
    error = "more than 16 endpoints";
    return std::nullopt;
  }
  return out;
}

// The open watch stream, so cancel_watch() can close it from another coroutine.
struct EtcdClient::Watch {
  explicit Watch(asio::any_io_executor executor) : stream(std::move(executor)) {}
  beast::tcp_stream stream;
  bool cancelled = false;
};

EtcdClient::EtcdClient(asio::any_io_executor executor, std::vector<Endpoint> endpoints, core::Millis timeout)
    : executor_(std::move(executor)), endpoints_(std::move(endpoints)), timeout_(timeout) {}

EtcdClient::~EtcdClient() = default;

asio::awaitable<core::Result<std::string>> EtcdClient::post(std::string path, std::string body) {
  core::Error last = unavailable("etcd: no endpoint");
  for (std::size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    std::size_t index = (preferred_ + attempt) % endpoints_.size();
    Endpoint const& endpoint = endpoints_[index];
    std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
    beast::tcp_stream stream(executor_);
    stream.expires_after(timeout_);
    auto cec = co_await connect(stream, endpoint);
    if (cec) {
      last = unavailable("etcd " + where + ": " + cec.message());
      continue;
    }
    auto req = make_request(endpoint, path, body);
    auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
    if (wec) {
      last = unavailable("etcd " + where + ": " + wec.message());
      continue;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (rec) {
      last = unavailable("etcd " + where + ": " + rec.message());
      continue;
    }
    preferred_ = index;
    auto& res = parser.get();
    if (res.result_int() != 200) {
      auto text = etcd::error_text(res.body());
      co_return unavailable("etcd " + where + ": HTTP " + std::to_string(res.result_int()) +
                            (text.empty() ? "" : ": " + text));
    }
    co_return std::move(res.body());
  }
  co_return last;
}

// One call: POST `body` to `path`, then read the answer with `parse`.
template <class T>
asio::awaitable<core::Result<T>> EtcdClient::call(std::string path, std::string body,
                                                  core::Result<T> (*parse)(std::string_view)) {
  auto answer = co_await post(std::move(path), std::move(body));
  if (!answer) co_return answer.error();
  co_return parse(*answer);
}

asio::awaitable<core::Result<std::int64_t>> EtcdClient::grant(std::int64_t ttl_s) {
  return call("/v3/lease/grant", etcd::grant_body(ttl_s), &etcd::parse_grant);
}

asio::awaitable<core::Result<std::int64_t>> EtcdClient::keepalive(std::int64_t lease) {
  return call("/v3/lease/keepalive", etcd::lease_body(lease), &etcd::parse_keepalive);
}

asio::awaitable<core::Result<std::int64_t>> EtcdClient::revoke(std::int64_t lease) {
  return call("/v3/lease/revoke", etcd::lease_body(lease), &etcd::parse_revision);
}

asio::awaitable<core::Result<std::int64_t>> EtcdClient::put(std::string key, std::string value, std::int64_t lease) {
  return call("/v3/kv/put", etcd::put_body(key, value, lease), &etcd::parse_revision);
}

asio::awaitable<core::Result<etcd::Range>> EtcdClient::range_prefix(std::string prefix) {
  return call("/v3/kv/range", etcd::range_prefix_body(prefix), &etcd::parse_range);
}

asio::awaitable<core::Result<etcd::Status>> EtcdClient::status() {
  return call("/v3/maintenance/status", "{}", &etcd::parse_status);
}

void EtcdClient::cancel_watch() {
  if (!watch_) return;
  watch_->cancelled = true;
  boost::system::error_code ignored;
  watch_->stream.socket().close(ignored);
}

asio::awaitable<core::Error> EtcdClient::watch(std::string prefix, std::int64_t start_revision, WatchHandler on_message) {
  auto watch = std::make_shared<Watch>(executor_);
  watch_ = watch;
  Endpoint const endpoint = endpoints_[preferred_ % endpoints_.size()];
  std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
  watch->stream.expires_after(timeout_);
  auto cec = co_await connect(watch->stream, endpoint);
  if (cec) {
    preferred_ = (preferred_ + 1) % endpoints_.size();  // the next call tries another member first
    co_return unavailable("etcd watch " + where + ": " + cec.message());
  }
  auto req = make_request(endpoint, "/v3/watch", etcd::watch_body(prefix, start_revision));
  auto [wec, wn] = co_await http::async_write(watch->stream, req, use_nothrow);
  if (wec) co_return unavailable("etcd watch " + where + ": " + wec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);  // a stream: each line is bounded below instead
  auto [hec, hn] = co_await http::async_read_header(watch->stream, buffer, parser, use_nothrow);
  if (hec) co_return unavailable("etcd watch " + where + ": " + hec.message());
  if (parser.get().result_int() != 200) {
    co_return unavailable("etcd watch " + where + ": HTTP " + std::to_string(parser.get().result_int()));
  }
  watch->stream.expires_never();  // the stream is idle while nothing changes; liveness is the caller's poll
  std::string& body = parser.get().body();
  while (!parser.is_done()) {
    auto [ec, n] = co_await http::async_read_some(watch->stream, buffer, parser, use_nothrow);
    if (watch->cancelled) co_return core::make_error(core::Errc::unavailable, "etcd watch cancelled");
    if (ec) co_return unavailable("etcd watch " + where + ": " + ec.message());
    std::size_t start = 0;
    for (auto newline = body.find('\n'); newline != std::string::npos; newline = body.find('\n', start)) {
      std::string_view line(body.data() + start, newline - start);
      start = newline + 1;
      if (line.empty()) continue;
      auto message = etcd::parse_watch_line(line);
      if (!message) co_return message.error();
      if (!on_message(*message)) co_return core::make_error(core::Errc::conflict, "watch ended by its reader");
    }
    body.erase(0, start);
    if (body.size() > kMaxWatchLineBytes) co_return unavailable("etcd watch " + where + ": a line over 4 MiB");
  }
  co_return unavailable("etcd watch " + where + ": the stream ended");
}

}  // namespace outboard::registry
