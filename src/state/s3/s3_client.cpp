#include "state/s3/s3_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <limits>

#include "core/offload.hpp"

namespace outboard::state::s3 {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

long long system_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string endpoint_name(S3Options const& o) { return o.host + ":" + std::to_string(o.port); }

// Runs `op` on `io` and resumes the caller on its own executor with the result.
template <class R>
asio::awaitable<R> run_on(asio::io_context& io, asio::awaitable<R> op) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [&io](auto handler, asio::awaitable<R> work) {
        auto guard = core::guard_home_of(handler);
        asio::co_spawn(io, std::move(work),
                       [handler = std::move(handler), guard = std::move(guard)](std::exception_ptr failure, R result) mutable {
                         if (failure) result = core::make_error(core::Errc::internal, "S3 request failed unexpectedly");
                         core::hand_back(std::move(handler), std::move(guard), std::move(result));
                       });
      },
      asio::use_awaitable, std::move(op));
}

std::string target_of(std::string const& path, std::vector<std::pair<std::string, std::string>> const& query) {
  std::string target = uri_encode(path, true);
  char sep = '?';
  for (auto const& [name, value] : query) {
    target += sep + uri_encode(name, false) + (value.empty() ? "" : "=" + uri_encode(value, false));
    sep = '&';
  }
  return target;
}

}  // namespace

S3Client::S3Client(S3Options options, std::function<long long()> now)
    : options_(std::move(options)),
      now_(now ? std::move(now) : std::function<long long()>(system_seconds)),
      keep_running_(asio::make_work_guard(io_)),
      thread_([this] { io_.run(); }) {}

S3Client::~S3Client() {
  keep_running_.reset();
  thread_.join();
}

Async<S3Response> S3Client::send(S3Request request) {
  auto op = exchange(std::move(request));
  co_return co_await run_on(io_, std::move(op));
}

void S3Client::send_detached(S3Request request) {
  asio::co_spawn(io_, exchange(std::move(request)), asio::detached);
}

asio::awaitable<Result<S3Response>> S3Client::exchange(S3Request request) {
  SignableRequest signable;
  signable.method = request.method;
  signable.path = "/" + options_.bucket + (request.key.empty() ? "" : "/" + request.key);
  signable.query = request.query;
  signable.payload_sha256 = sha256_hex(request.body);
  auto amz_date = amz_date_of(now_());
  signable.headers = request.headers;
  signable.headers.emplace_back("host", endpoint_name(options_));
  signable.headers.emplace_back("x-amz-content-sha256", signable.payload_sha256);
  signable.headers.emplace_back("x-amz-date", amz_date);
  if (!options_.keys.session_token.empty()) signable.headers.emplace_back("x-amz-security-token", options_.keys.session_token);

  http::request<http::string_body> message;
  message.method_string(request.method);
  message.target(target_of(signable.path, request.query));
  message.version(11);
  for (auto const& [name, value] : signable.headers) message.set(name, value);
  message.set(http::field::authorization, authorization_header(signable, {amz_date, options_.region}, options_.keys));
  message.body() = std::move(request.body);
  message.prepare_payload();

  auto executor = co_await asio::this_coro::executor;
  auto unreachable = [&](char const* step, boost::system::error_code ec) {
    auto code = ec == beast::error::timeout ? core::Errc::timeout : core::Errc::unavailable;
    return core::make_error(code, std::string("S3 endpoint ") + endpoint_name(options_) + ": cannot " + step + ": " +
                                      ec.message());
  };
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(executor);
  auto addresses = co_await resolver.async_resolve(options_.host, std::to_string(options_.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return unreachable("resolve", ec);
  beast::tcp_stream stream(executor);
  stream.expires_after(options_.timeout);
  co_await stream.async_connect(addresses, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return unreachable("connect", ec);
  co_await http::async_write(stream, message, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return unreachable("send", ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // blobs are as large as the caller's limits allow
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return unreachable("read the answer", ec);
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);

  auto& answer = parser.get();
  S3Response response;
  response.status = answer.result_int();
  response.etag = std::string(answer[http::field::etag]);
  response.body = std::move(answer.body());
  if (response.status < 200 || response.status >= 300) {
    co_return refusal(request.method + " " + request.key, response.status, response.body);
  }
  co_return response;
}

}  // namespace outboard::state::s3
