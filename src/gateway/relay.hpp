#pragma once
// Passing a message body on, piece by piece, from one connection to another (Beast's relay
// pattern): a client's request body to a backend, a backend's response body to the client. The
// body is never held whole. Header-only: templates over the direction (request or response).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "gateway/body_pace.hpp"
#include "http/message.hpp"
#include "http/strict.hpp"
#include "io/read_watchdog.hpp"
#include "io/strict_read.hpp"
#include "io/write_response.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::gateway {

// The gateway's short names for Asio and Beast (the same aliases its .cpp files use).
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using core::use_nothrow;

using TimePoint = std::chrono::steady_clock::time_point;

// The earliest of now + idle and the request's own deadlines: the expiry for one network wait.
inline TimePoint expiry(core::Millis idle, TimePoint deadline, TimePoint other = TimePoint::max()) {
  return std::min({std::chrono::steady_clock::now() + idle, deadline, other});
}

// How a relay (or a send, or a response head read) ended: the first error, and whether it came
// from the side being read (for a request body: the client) rather than the side written to.
struct RelayResult {
  boost::beast::error_code ec;
  bool reading = false;
  std::optional<http::Rejection> rejection;  // the strict layer refused what was read (ec is set too)
  // The peer closed (or reset) the connection before sending a single byte of the response:
  // read_final_header sets it; a write that met the peer's close sets it too.
  bool closed_unanswered = false;
};

// A strict read's outcome as the relay's: a rejection also sets ec, so every caller that only
// asks "did it fail?" still stops.
inline boost::beast::error_code error_of(io::StrictRead const& got) {
  return got.rejection ? boost::beast::error_code(boost::beast::http::error::bad_chunk) : got.ec;
}

// Whether `ec` says the peer closed or reset the connection (a read's EOF, a write's EPIPE).
// On a reused pooled connection before any response byte, that is a connection the backend
// closed while it sat idle (its keep-alive timeout raced our request), not the backend failing.
// No probe (MSG_PEEK) before reuse: it costs a syscall per request and still loses the race
// when the close comes after it; the request is sent again instead, when that is safe.
inline bool closed_by_peer(boost::beast::error_code ec) {
  return ec == boost::beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

// The clocks a relay runs under: `idle` for each wait, never past `deadline` (the request's
// total deadline); reads also never past the body pace's deadline when there is one (a request
// body). `body_bytes`, when given, counts the body bytes passed on.
struct RelayLimits {
  core::Millis idle;
  TimePoint deadline = TimePoint::max();
  BodyPace* pace = nullptr;
  std::uint64_t* body_bytes = nullptr;

  TimePoint read_until() const { return expiry(idle, deadline, pace ? pace->deadline() : TimePoint::max()); }
  TimePoint write_until() const { return expiry(idle, deadline); }
};

template <bool isRequest>
asio::awaitable<beast::error_code> write_header_alone(
    beast::tcp_stream& out, bhttp::serializer<isRequest, bhttp::buffer_body>& serializer,
    bhttp::parser<isRequest, bhttp::buffer_body>& parser, TimePoint until) {
  parser.get().body().data = nullptr;
  parser.get().body().more = !parser.is_done();
  out.expires_at(until);
  auto [hec, hn] = co_await bhttp::async_write_header(out, serializer, use_nothrow);
  co_return hec;
}

// One piece of the body from `in` into `chunk` (the parser's buffer_body points there), through
// the strict layer: a chunked body's framing is checked before Beast reads it. On success
// ec is clear and the parser's body().size is the piece's size (0: only framing was read).
template <bool isRequest>
asio::awaitable<RelayResult> read_piece(beast::tcp_stream& in, beast::flat_buffer& in_buffer,
                                        bhttp::parser<isRequest, bhttp::buffer_body>& parser, io::ChunkGuard& guard,
                                        RelayLimits const& limits, std::span<char> chunk) {
  parser.get().body().data = chunk.data();
  parser.get().body().size = chunk.size();
  io::StrictRead got;
  if constexpr (isRequest) {
    // From a client: a late body is owed a 408, so its socket must stay open.
    io::ReadWatchdog watchdog(in, limits.read_until());
    got = co_await io::async_read_body_some_strict(in, in_buffer, parser, guard);
    if (watchdog.fired()) got = io::StrictRead{beast::error::timeout, std::nullopt};
  } else {
    in.expires_at(limits.read_until());
    got = co_await io::async_read_body_some_strict(in, in_buffer, parser, guard);
  }
  beast::error_code rec = error_of(got);
  if (rec == bhttp::error::need_buffer) rec = {};
  if (rec) co_return RelayResult{rec, true, std::move(got.rejection)};
  parser.get().body().size = chunk.size() - parser.get().body().size;
  parser.get().body().data = chunk.data();
  if (limits.body_bytes) *limits.body_bytes += parser.get().body().size;
  if (limits.pace) limits.pace->received += parser.get().body().size;
  co_return RelayResult{};
}

// Writes what is left of a header (`unsent`, emptied once sent) and a piece of body, in one
// write tried at once, before `until`.
inline asio::awaitable<beast::error_code> send_with_header(beast::tcp_stream& out, std::string_view& unsent,
                                                           std::string_view piece, TimePoint until) {
  std::array<asio::const_buffer, 2> const parts{asio::buffer(unsent), asio::buffer(piece)};
  unsent = {};
  out.expires_at(until);
  auto writing = io::async_write_now(out, parts);  // named: see core/offload.hpp on g++ 12
  co_return co_await std::move(writing);
}

// The relay of a message that goes out without a chunked encoding (a Content-Length, or no
// body, or a body up to the connection's close): its header as text (http::header_text, what
// Beast's serializer writes) and its body's bytes as they came, each write tried at once
// (io::async_write_now). Beast's serializer, kept for chunked messages, cost about a quarter of
// a proxied request's instructions in its buffer-sequence machinery (bench/gateway/profile.sh).
template <bool isRequest>
asio::awaitable<RelayResult> relay_plain(beast::tcp_stream& out, beast::tcp_stream& in,
                                         beast::flat_buffer& in_buffer,
                                         bhttp::parser<isRequest, bhttp::buffer_body>& parser,
                                         io::ChunkGuard& guard, RelayLimits limits, std::span<char> chunk,
                                         std::string_view prefix) {
  std::string const head = http::header_text(parser.get().base());
  std::string_view unsent = head;  // the header until it is sent, then nothing
  // The header at once when no body byte is here yet (a stream's client sees it without waiting
  // for the first event), with the held prefix if any.
  if (!prefix.empty() || (!parser.is_done() && in_buffer.size() == 0)) {
    auto ec = co_await send_with_header(out, unsent, prefix, limits.write_until());
    if (ec) co_return RelayResult{ec, false, std::nullopt};
  }
  while (!parser.is_done()) {
    auto got = co_await read_piece(in, in_buffer, parser, guard, limits, chunk);
    if (got.ec) co_return got;
    std::string_view piece(static_cast<char const*>(parser.get().body().data), parser.get().body().size);
    if (piece.empty() && unsent.empty()) continue;  // only framing was read
    auto ec = co_await send_with_header(out, unsent, piece, limits.write_until());
    if (ec) co_return RelayResult{ec, false, std::nullopt};
  }
  if (!unsent.empty()) {
    auto ec = co_await send_with_header(out, unsent, {}, limits.write_until());
    if (ec) co_return RelayResult{ec, false, std::nullopt};
  }
  co_return RelayResult{};
}

// Copies a message body from `in` to `out` piece by piece (Beast's relay pattern): the body is
// never held whole. Each piece is passed on as soon as it arrives (read_some, not read: a read
// would wait for 16 KiB or the end, and hold back a stream of server-sent events or a long
// poll). The header goes out with the first piece when that piece has already arrived (a small
// response usually comes in one segment with its header): one send instead of two. When no
// body byte is here yet, the header goes out alone at once, so a stream's client sees it
// without waiting for the first event. Returns the first error, if any, and its side.
// `chunk` is the connection's relay buffer (only bytes just read are ever sent from it): owned
// by the client connection's coroutine, so this frame stays small and the thread's frame
// allocator can recycle it instead of allocating 16 KiB per request. A message that goes out
// chunked is written by Beast's serializer (which encodes it); any other by relay_plain.
template <bool isRequest>
asio::awaitable<RelayResult> relay(beast::tcp_stream& out, beast::tcp_stream& in,
                                          beast::flat_buffer& in_buffer,
                                          bhttp::parser<isRequest, bhttp::buffer_body>& parser,
                                          io::ChunkGuard& guard, RelayLimits limits, std::span<char> chunk,
                                          std::string_view prefix = {}) {
  if (!parser.get().chunked()) {
    co_return co_await relay_plain(out, in, in_buffer, parser, guard, limits, chunk, prefix);
  }
  bhttp::serializer<isRequest, bhttp::buffer_body> serializer{parser.get()};
  bool header_sent = false;
  if (!prefix.empty() || (!parser.is_done() && in_buffer.size() == 0)) {
    auto hec = co_await write_header_alone(out, serializer, parser, limits.write_until());
    header_sent = true;
    if (hec) co_return RelayResult{hec, false, std::nullopt};
  }
  if (!prefix.empty()) {
    // Body bytes read before the relay began (held for a retry that did not happen).
    parser.get().body().data = const_cast<char*>(prefix.data());
    parser.get().body().size = prefix.size();
    parser.get().body().more = true;
    out.expires_at(limits.write_until());
    auto [pec, pn] = co_await bhttp::async_write(out, serializer, use_nothrow);
    if (pec == bhttp::error::need_buffer) pec = {};
    if (pec) co_return RelayResult{pec, false, std::nullopt};
  }
  while (!serializer.is_done()) {
    if (!parser.is_done()) {
      auto got = co_await read_piece(in, in_buffer, parser, guard, limits, chunk);
      if (got.ec) co_return got;
      parser.get().body().more = !parser.is_done();
      if (parser.get().body().size == 0) {
        // Only framing was read (a chunk header, the last chunk): no data to pass on. An empty
        // buffer must not reach a chunked serializer, which would write it as "0\r\n\r\n", the
        // end of the body, and then end the body again.
        parser.get().body().data = nullptr;
        if (!parser.is_done()) {
          if (!header_sent) {
            auto hec = co_await write_header_alone(out, serializer, parser, limits.write_until());
            header_sent = true;
            if (hec) co_return RelayResult{hec, false, std::nullopt};
          }
          continue;
        }
      }
    } else {
      parser.get().body().data = nullptr;
      parser.get().body().size = 0;
      parser.get().body().more = false;
    }
    out.expires_at(limits.write_until());
    auto [wec, wn] = co_await bhttp::async_write(out, serializer, use_nothrow);
    header_sent = true;
    if (wec == bhttp::error::need_buffer) wec = {};
    if (wec) co_return RelayResult{wec, false, std::nullopt};
  }
  co_return RelayResult{};
}

}  // namespace outboard::gateway
