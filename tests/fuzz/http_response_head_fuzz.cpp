// fuzz-link: outboard_http outboard_io
// The strict response-head rules (what the gateway checks on a backend's answer) in front of
// Beast's parser. Invariants: every refusal is a 502 with a rule id; a head the strict layer
// accepts Beast parses too (never rule "parser").
// Input: the bytes a backend sent.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "io/strict_read.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  namespace bhttp = boost::beast::http;
  std::string_view bytes(reinterpret_cast<char const*>(data), size);
  outboard::http::HeadLimits limits{.max_head_bytes = 2048, .max_fields = 16, .max_target_bytes = 512};
  boost::beast::flat_buffer buffer;
  outboard::io::append_bytes(buffer, bytes);
  bhttp::response_parser<bhttp::empty_body> parser;
  auto step = outboard::io::take_head(buffer, parser, limits);
  if (step.rejection) {
    FUZZ_CHECK(step.rejection->status == outboard::http::Status::bad_gateway);
    FUZZ_CHECK(!step.rejection->rule.empty() && !step.rejection->detail.empty());
    FUZZ_CHECK(step.rejection->rule != "parser");
  }
  if (step.complete) FUZZ_CHECK(parser.is_header_done());
  return 0;
}
