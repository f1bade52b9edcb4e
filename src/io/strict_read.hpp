#pragma once
// Reading HTTP/1.1 messages through the strict layer (http/strict.hpp) before Boost.Beast's
// parser sees a byte: the socket side shared by `outboard serve` (io/http_server.cpp) and
// `outboard gateway` (client requests and backend responses).
//
// The head: async_read_head_strict reads from the socket until the head is complete (or the
// limit or the deadline passes), runs check_request_head / check_response_head on those raw
// bytes, and only when they pass hands exactly them to the parser. So Beast never decides
// whether a head is acceptable: it only builds the message from bytes outboard accepted.
//
// The body: a ChunkGuard runs the bytes of a chunked body through http::ChunkedValidator before
// the parser may consume them; async_read_body_some_strict / async_read_body_strict read and
// parse with it. A body with a Content-Length (or none) passes through the guard untouched.
//
// How the gateway calls it (a sketch, names as in proxy_server.cpp):
//   bhttp::request_parser<bhttp::buffer_body> parser;
//   parser.body_limit(max_body);
//   auto head = co_await io::async_read_head_strict(client, client_buffer, parser, limits, header_timeout);
//   if (head.rejection) { answer http::rejection_response(*head.rejection); close; }
//   if (head.ec) { as today for timeouts / EOF / Beast's own errors (io::parser_rejection) }
//   io::ChunkGuard guard(parser.chunked());
//   ... relay: replace bhttp::async_read_some(client, client_buffer, parser) with
//   auto got = co_await io::async_read_body_some_strict(client, client_buffer, parser, guard);
//   (got.rejection: answer it (400) if nothing was sent yet, else reset; got.ec: as before,
//   need_buffer included.) For a backend's response use a response_parser, the same calls, and
//   answer the client 502 on any rejection (check_response_head already says 502; a chunk
//   rejection says 400: map it to 502).
// Every call takes the stream, buffer, parser and guard by reference: they must outlive the
// awaited call, as with Beast's own async_read.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <limits>
#include <optional>
#include <string_view>

#include "core/clock.hpp"
#include "http/strict.hpp"

namespace outboard::io {

namespace strict_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
inline constexpr std::size_t kReadSize = 4096;
inline std::string_view view_of(beast::flat_buffer const& buffer) {
  auto data = buffer.data();
  return {static_cast<char const*>(data.data()), data.size()};
}
}  // namespace strict_detail

// Copies `bytes` to the end of `buffer`: for the pure admission (io/admit.hpp) and fuzz targets,
// which feed the same steps from memory instead of a socket.
inline void append_bytes(boost::beast::flat_buffer& buffer, std::string_view bytes) {
  auto space = buffer.prepare(bytes.size());
  boost::asio::buffer_copy(space, boost::asio::buffer(bytes.data(), bytes.size()));
  buffer.commit(bytes.size());
}

// The outcome of a strict read. At most one of the two is set; neither means success.
struct StrictRead {
  boost::beast::error_code ec;               // the socket (timeout, EOF) or Beast's parser
  std::optional<http::Rejection> rejection;  // a strict-layer rule refused the message
};

// Beast's own refusal of bytes the strict layer had accepted, as a rejection with the rule
// "parser" (400 for a request, 502 for a response). Seeing it means a rule is missing here.
http::Rejection parser_rejection(boost::beast::error_code ec, bool request);

// A Content-Length over the parser's body limit (a limit of ours, not an RFC rule: it keeps the
// code "payload_too_large" outboard always answered): 413, or 502 for a response.
http::Rejection body_too_large(bool request);

// One step over what is already in `buffer`, no I/O: skips leading empty lines (requests),
// and when the head is complete checks it and puts it into `parser` (consuming it from the
// buffer). complete=false with nothing else set: more bytes are needed.
struct HeadStep {
  bool complete = false;
  std::optional<http::Rejection> rejection;
};
template <bool isRequest, class Body, class Allocator>
HeadStep take_head(boost::beast::flat_buffer& buffer, boost::beast::http::parser<isRequest, Body, Allocator>& parser,
                   http::HeadLimits const& limits) {
  if constexpr (isRequest) buffer.consume(http::leading_empty_lines(strict_detail::view_of(buffer)));
  auto bytes = strict_detail::view_of(buffer);
  auto end = http::find_head_end(bytes);
  if (!end) return HeadStep{false, http::check_partial_head(bytes, limits, isRequest)};
  auto head = bytes.substr(0, *end);
  auto rejection = isRequest ? http::check_request_head(head, limits) : http::check_response_head(head, limits);
  if (rejection) return HeadStep{false, std::move(rejection)};
  // Our limit already held; Beast's must not refuse first.
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
      limits.max_head_bytes + 1, std::numeric_limits<std::uint32_t>::max())));
  boost::beast::error_code ec;
  auto used = parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  buffer.consume(used);
  if (ec == boost::beast::http::error::body_limit) return HeadStep{false, body_too_large(isRequest)};
  if (ec || !parser.is_header_done()) {
    return HeadStep{false, parser_rejection(ec ? ec : boost::beast::http::error::need_more, isRequest)};
  }
  return HeadStep{true, std::nullopt};
}

// Reads a message head under whatever deadline the caller set on the stream (or a watchdog
// timer of its own). EOF before any byte: ec = bhttp::error::end_of_stream; EOF inside the
// head: bhttp::error::partial_message.
template <bool isRequest, class Body, class Allocator>
boost::asio::awaitable<StrictRead> async_read_head_strict(boost::beast::tcp_stream& stream,
                                                          boost::beast::flat_buffer& buffer,
                                                          boost::beast::http::parser<isRequest, Body, Allocator>& parser,
                                                          http::HeadLimits limits) {
  namespace asio = boost::asio;
  for (;;) {
    auto step = take_head(buffer, parser, limits);
    if (step.complete || step.rejection) co_return StrictRead{{}, std::move(step.rejection)};
    auto space = buffer.prepare(strict_detail::kReadSize);
    auto [ec, n] = co_await stream.async_read_some(space, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) {
      ec = buffer.size() == 0 ? boost::beast::http::error::end_of_stream : boost::beast::http::error::partial_message;
    }
    if (ec) co_return StrictRead{ec, std::nullopt};
    buffer.commit(n);
  }
}

// The same with a deadline of `timeout` for the whole head (a drip-fed head is cut too):
// beast::error::timeout when it passes.
template <bool isRequest, class Body, class Allocator>
boost::asio::awaitable<StrictRead> async_read_head_strict(boost::beast::tcp_stream& stream,
                                                          boost::beast::flat_buffer& buffer,
                                                          boost::beast::http::parser<isRequest, Body, Allocator>& parser,
                                                          http::HeadLimits limits, core::Millis timeout) {
  stream.expires_after(timeout);
  co_return co_await async_read_head_strict(stream, buffer, parser, limits);
}

// Holds back from the parser the bytes of a chunked body the validator has not cleared.
// One guard per message, made once its head is parsed: ChunkGuard guard(parser.chunked()).
class ChunkGuard {
 public:
  explicit ChunkGuard(bool chunked, http::ChunkLimits limits = {}) : validator_(limits), active_(chunked) {}

  struct Clearance {
    std::size_t cleared = 0;  // bytes at the front of the buffer the parser may consume
    std::optional<http::Rejection> rejection;
  };
  // Validates the bytes of `buffered` (the whole read buffer) not seen before.
  Clearance check(std::string_view buffered);
  // The parser consumed `n` bytes from the front of the buffer.
  void consumed(std::size_t n) { checked_ = n > checked_ ? 0 : checked_ - n; }

 private:
  http::ChunkedValidator validator_;
  bool active_;
  std::size_t checked_ = 0;  // bytes at the front of the buffer already validated
};

// One step over what is already in `buffer`, no I/O: puts the cleared bytes into the parser.
// `progress`: the parser consumed something or is done. ec may be need_buffer (buffer_body).
struct BodyStep {
  bool progress = false;
  boost::beast::error_code ec;
  std::optional<http::Rejection> rejection;
};
template <bool isRequest, class Body, class Allocator>
BodyStep put_body(boost::beast::flat_buffer& buffer, boost::beast::http::parser<isRequest, Body, Allocator>& parser,
                  ChunkGuard& guard) {
  if (parser.is_done()) return BodyStep{true, {}, std::nullopt};
  auto bytes = strict_detail::view_of(buffer);
  auto clearance = guard.check(bytes);
  if (clearance.rejection) return BodyStep{false, {}, std::move(clearance.rejection)};
  if (clearance.cleared == 0) return BodyStep{};
  boost::beast::error_code ec;
  auto used = parser.put(boost::asio::buffer(bytes.data(), clearance.cleared), ec);
  buffer.consume(used);
  guard.consumed(used);
  if (ec == boost::beast::http::error::need_more) ec = {};
  return BodyStep{used > 0 || parser.is_done(), ec, std::nullopt};
}

// Like beast::http::async_read_some for the body: returns once the parser made progress (some
// body bytes, or the end), with Beast's error codes (need_buffer for a full buffer_body, EOF as
// partial_message), or a rejection from the chunk rules. Sets no deadline: the caller does.
template <bool isRequest, class Body, class Allocator>
boost::asio::awaitable<StrictRead> async_read_body_some_strict(
    boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::parser<isRequest, Body, Allocator>& parser, ChunkGuard& guard) {
  namespace asio = boost::asio;
  for (;;) {
    auto step = put_body(buffer, parser, guard);
    if (step.rejection || step.ec || step.progress) co_return StrictRead{step.ec, std::move(step.rejection)};
    auto space = buffer.prepare(strict_detail::kReadSize);
    auto [ec, n] = co_await stream.async_read_some(space, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) {
      boost::beast::error_code eof_ec;
      parser.put_eof(eof_ec);
      co_return StrictRead{eof_ec, std::nullopt};
    }
    if (ec) co_return StrictRead{ec, std::nullopt};
    buffer.commit(n);
  }
}

// The whole body (string_body and the like), through the guard.
template <bool isRequest, class Body, class Allocator>
boost::asio::awaitable<StrictRead> async_read_body_strict(boost::beast::tcp_stream& stream,
                                                          boost::beast::flat_buffer& buffer,
                                                          boost::beast::http::parser<isRequest, Body, Allocator>& parser,
                                                          ChunkGuard& guard) {
  while (!parser.is_done()) {
    auto got = co_await async_read_body_some_strict(stream, buffer, parser, guard);
    if (got.ec || got.rejection) co_return got;
  }
  co_return StrictRead{};
}

}  // namespace outboard::io
