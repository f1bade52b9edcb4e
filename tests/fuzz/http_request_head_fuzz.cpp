// fuzz-link: outboard_http outboard_io
// The strict request-head rules (http/strict.hpp) in front of Beast's parser, as serve and the
// gateway run them (io::take_head). Invariants: a refusal has a rule id, a detail and a 4xx/5xx
// status; a head the strict layer accepts Beast parses too (rule "parser" would mean a rule is
// missing here); and accepting does not depend on how the bytes arrived (whole or in two parts).
// Input: the bytes a client sent.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "io/strict_read.hpp"

namespace {

namespace bhttp = boost::beast::http;
using outboard::io::HeadStep;

HeadStep read_head(std::string_view first, std::string_view second, outboard::http::HeadLimits const& limits) {
  boost::beast::flat_buffer buffer;
  bhttp::request_parser<bhttp::empty_body> parser;
  outboard::io::append_bytes(buffer, first);
  auto step = outboard::io::take_head(buffer, parser, limits);
  if (step.complete || step.rejection) return step;
  outboard::io::append_bytes(buffer, second);
  return outboard::io::take_head(buffer, parser, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<char const*>(data), size);
  outboard::http::HeadLimits limits{.max_head_bytes = 2048, .max_fields = 16, .max_target_bytes = 512};
  auto whole = read_head(bytes, {}, limits);
  if (whole.rejection) {
    FUZZ_CHECK(!whole.rejection->rule.empty() && !whole.rejection->detail.empty());
    FUZZ_CHECK(static_cast<int>(whole.rejection->status) >= 400 && static_cast<int>(whole.rejection->status) < 600);
    FUZZ_CHECK(whole.rejection->rule != "parser");
  }
  auto split = read_head(bytes.substr(0, size / 2), bytes.substr(size / 2), limits);
  FUZZ_CHECK(whole.complete == split.complete);
  if (whole.complete) {
    // The pure check alone says the same on the head the reader found.
    auto head_bytes = bytes.substr(outboard::http::leading_empty_lines(bytes));
    auto end = outboard::http::find_head_end(head_bytes);
    FUZZ_CHECK(end && !outboard::http::check_request_head(head_bytes.substr(0, *end), limits));
  }
  return 0;
}
