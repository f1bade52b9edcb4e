// fuzz-link: outboard_http outboard_io
// fuzz-sources: src/gateway/forwarding.cpp
// The gateway and serve admit the same requests. Serve's admission is io::admit_request (what
// io/http_server.cpp runs); the gateway's is written here from the same public pieces it uses:
// the strict head (io::take_head) into a buffer_body parser, gateway::check_request_framing on
// the parsed header, then the chunk guard over the body. Invariant: the same verdict (accepted,
// refused, or incomplete) on the same bytes, so the gateway forwards nothing serve would refuse.
// Input: the bytes a client sent.
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "gateway/forwarding.hpp"
#include "io/admit.hpp"
#include "io/strict_read.hpp"

namespace {

namespace bhttp = boost::beast::http;
enum class Verdict { accepted, refused, incomplete };

Verdict gateway_admits(std::string_view bytes, outboard::http::HeadLimits const& limits, std::size_t max_body) {
  boost::beast::flat_buffer buffer;
  outboard::io::append_bytes(buffer, bytes);
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.body_limit(max_body);
  auto head = outboard::io::take_head(buffer, parser, limits);
  if (head.rejection) return Verdict::refused;
  if (!head.complete) return Verdict::incomplete;
  // The gateway's own older check must never refuse what the strict layer accepted.
  FUZZ_CHECK(!outboard::gateway::check_request_framing(parser.get().base()));
  if (parser.content_length() && *parser.content_length() > max_body) return Verdict::refused;
  outboard::io::ChunkGuard guard(parser.chunked());
  std::array<char, 512> piece{};
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    auto step = outboard::io::put_body(buffer, parser, guard);
    if (step.rejection) return Verdict::refused;
    if (step.ec && step.ec != bhttp::error::need_buffer) return Verdict::refused;
    if (!step.progress && !step.ec) return Verdict::incomplete;
  }
  return Verdict::accepted;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<char const*>(data), size);
  outboard::http::HeadLimits limits{.max_head_bytes = 2048, .max_fields = 16, .max_target_bytes = 512};
  std::size_t max_body = 1024;
  auto serve = outboard::io::admit_request(bytes, limits, max_body);
  Verdict serve_verdict = serve.complete ? Verdict::accepted : serve.rejection ? Verdict::refused : Verdict::incomplete;
  FUZZ_CHECK(gateway_admits(bytes, limits, max_body) == serve_verdict);
  return 0;
}
