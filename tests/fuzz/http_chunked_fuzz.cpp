// fuzz-link: outboard_http
// http::ChunkedValidator on any chunked body. Invariants: the verdict, the bytes used and the
// decoded data do not depend on how the input is split; a body it accepts, Beast's chunked
// parser accepts too and decodes to the same data (the validator is never laxer than Beast).
// Input: the body bytes after a "Transfer-Encoding: chunked" head.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/strict.hpp"

namespace {

struct Verdict {
  bool done = false;
  std::size_t used = 0;
  std::optional<std::string> rule;
  std::string data;
};

Verdict validate(std::string_view body, std::size_t piece) {
  outboard::http::ChunkedValidator v(outboard::http::ChunkLimits{.max_line_bytes = 256, .max_trailer_bytes = 512,
                                                                 .max_trailer_fields = 4});
  Verdict out;
  for (std::size_t at = 0; at < body.size() && !v.done();) {
    auto step = v.feed(body.substr(at, piece), &out.data);
    out.used += step.used;
    at += std::min(piece, body.size() - at);
    if (step.rejection) {
      out.rule = step.rejection->rule;
      break;
    }
  }
  out.done = v.done();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view body(reinterpret_cast<char const*>(data), size);
  auto whole = validate(body, body.size() + 1);
  auto bytewise = validate(body, 1);
  FUZZ_CHECK(whole.done == bytewise.done);
  FUZZ_CHECK(whole.rule == bytewise.rule);
  if (!whole.rule) {
    FUZZ_CHECK(whole.used == bytewise.used);
    FUZZ_CHECK(whole.data == bytewise.data);
  }
  if (whole.done) {
    namespace bhttp = boost::beast::http;
    std::string wire = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    wire.append(body.substr(0, whole.used));
    bhttp::request_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(wire), ec);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(parser.is_done());
    FUZZ_CHECK(parser.get().body() == whole.data);
  }
  return 0;
}
