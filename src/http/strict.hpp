#pragma once
// The strict HTTP/1.1 message rules (RFC 9112 sections 2-7, RFC 9110 field syntax), as pure
// functions over the raw bytes of a message head: no sockets, no Beast parser. Both `outboard
// serve` and `outboard gateway` run these on the bytes they received BEFORE Beast parses them,
// so whatever Beast would tolerate, outboard has already decided. Every refusal carries a stable
// rule id (kebab-case, the "error" of the JSON answer, the access log's and counters' label);
// docs/HTTP.md lists each rule with its RFC section and the tests that prove it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace outboard::http {

// Why a message is refused. `status` is what a server answers a client; on the response side
// (check_response_head, a backend's chunked body) it is 502, what a gateway answers its client.
struct Rejection {
  Status status;
  std::string rule;    // stable id, e.g. "te-and-cl", "obs-fold" (docs/HTTP.md)
  std::string detail;  // a sentence for a person; never echoes more than a few bytes of input
};

// Size limits of a message head. Defaults are the ones `outboard serve` uses.
struct HeadLimits {
  std::size_t max_head_bytes = 16 << 10;   // start line through the empty line (431 / 502)
  std::size_t max_fields = 100;            // field lines (431 / 502)
  std::size_t max_target_bytes = 8 << 10;  // request-target (414)
};

// The length of the complete head at the start of `bytes` (through the empty line), or nullopt
// when more bytes are needed. A bare LF or a CR not followed by LF ends the scan early, returning
// the bytes up to it, so the caller hands them to check_*_head (which refuses them) instead of
// waiting for a CRLF CRLF that may never come. Leading empty lines are not skipped here.
std::optional<std::size_t> find_head_end(std::string_view bytes);

// Bytes of CRLF pairs at the start of `bytes`: the empty lines a server ignores before a
// request-line (RFC 9112 section 2.2). A lone trailing CR is not counted.
std::size_t leading_empty_lines(std::string_view bytes);

// What to say about an incomplete head that already exceeds the limits (414 for a request-line
// longer than the target limit, else 431; 502 for a response), or nullopt while it may still fit.
std::optional<Rejection> check_partial_head(std::string_view bytes, HeadLimits const& limits, bool request);

// Checks a complete request head: from the request-line (leading empty lines already removed)
// through the terminating empty line. nullopt: outboard accepts it.
std::optional<Rejection> check_request_head(std::string_view raw_head, HeadLimits const& limits);

// Checks a complete response head (status-line through the empty line). Every refusal is 502.
std::optional<Rejection> check_response_head(std::string_view raw_head, HeadLimits const& limits);

// One field line (no CRLF) of a head or a trailer section: a token name, a colon right after
// it, a value of field characters. Refusals say 400.
std::optional<Rejection> check_field_line(std::string_view line);

// The answer to a refused request: {"error": rule, "detail": detail} with the rejection's status
// and Connection: close (after a framing error the connection's bytes cannot be trusted).
Response rejection_response(Rejection const& rejection);

// Limits of a chunked body's framing (not of its data: that is the body limit's job).
struct ChunkLimits {
  std::size_t max_line_bytes = 4096;      // a chunk-size line with its extensions
  std::size_t max_trailer_bytes = 8192;   // the whole trailer section
  std::size_t max_trailer_fields = 32;
};

// An incremental validator (and decoder) of a chunked body's framing, fed the bytes that follow
// the head in the order they arrive, in pieces of any size. It refuses, as soon as the bytes
// show it: a chunk-size that is not hex or overflows, malformed chunk extensions (an unbalanced
// quote is an error at the line's end, not a wait for more), missing CRLF after chunk data,
// bare CR/LF, over-long lines, and trailer fields that break field syntax or name a field that
// must not come late (Content-Length, Transfer-Encoding, Host, ...). Rejections say 400; a
// gateway reading a backend's body answers 502 instead.
class ChunkedValidator {
 public:
  explicit ChunkedValidator(ChunkLimits limits = {}) : limits_(limits) {}

  struct Step {
    std::size_t used = 0;               // bytes of `bytes` that belong to the chunked body
    std::optional<Rejection> rejection;
  };
  // Consumes bytes of the body; stops at its end (done()), leaving the rest (a pipelined
  // request) unused. When `data` is given, chunk data is appended to it. After a rejection
  // every later call returns the same rejection.
  Step feed(std::string_view bytes, std::string* data = nullptr);
  bool done() const { return state_ == State::done; }

 private:
  enum class State { size_line, data, data_cr, data_lf, trailer_line, done, failed };
  std::optional<Rejection> end_of_size_line();
  std::optional<Rejection> end_of_trailer_line();
  Step fail(std::size_t used, Rejection rejection);

  ChunkLimits limits_;
  State state_ = State::size_line;
  std::string line_;           // the line being collected, without its CRLF
  std::uint64_t remaining_ = 0;  // data bytes left in the current chunk
  std::size_t trailer_bytes_ = 0;
  std::size_t trailer_fields_ = 0;
  std::optional<Rejection> failure_;
};

}  // namespace outboard::http
