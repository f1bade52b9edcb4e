#include "io/admit.hpp"

#include <boost/beast/http/string_body.hpp>

#include "io/strict_read.hpp"

namespace outboard::io {

namespace bhttp = boost::beast::http;

Admission admit_request(std::string_view bytes, http::HeadLimits const& limits, std::size_t max_body) {
  Admission out;
  boost::beast::flat_buffer buffer;
  append_bytes(buffer, bytes);

  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(max_body);
  auto head = take_head(buffer, parser, limits);
  if (head.rejection || !head.complete) {
    out.rejection = std::move(head.rejection);
    return out;
  }
  ChunkGuard guard(parser.chunked());
  while (!parser.is_done()) {
    auto step = put_body(buffer, parser, guard);
    if (step.rejection) {
      out.rejection = std::move(step.rejection);
      return out;
    }
    if (step.ec == bhttp::error::body_limit) {
      out.rejection = body_too_large(true);
      return out;
    }
    if (step.ec) {
      out.rejection = parser_rejection(step.ec, true);
      return out;
    }
    if (!step.progress) return out;  // needs bytes that are not there
  }
  out.complete = true;
  out.method = std::string(parser.get().method_string());
  out.target = std::string(parser.get().target());
  out.body = parser.get().body();
  return out;
}

}  // namespace outboard::io
