#include "io/strict_read.hpp"

#include <string>

namespace outboard::io {

http::Rejection parser_rejection(boost::beast::error_code ec, bool request) {
  return http::Rejection{request ? http::Status::bad_request : http::Status::bad_gateway, "parser",
                         "the HTTP parser refused the message: " + ec.message()};
}

http::Rejection body_too_large(bool request) {
  return http::Rejection{request ? http::Status::payload_too_large : http::Status::bad_gateway, "payload_too_large",
                         "the body is over the size limit"};
}

ChunkGuard::Clearance ChunkGuard::check(std::string_view buffered) {
  if (!active_ || validator_.done()) return Clearance{buffered.size(), std::nullopt};
  if (checked_ < buffered.size()) {
    auto step = validator_.feed(buffered.substr(checked_));
    checked_ += step.used;
    if (step.rejection) return Clearance{0, std::move(step.rejection)};
  }
  // Past the body's end the bytes are the next message's: the parser stops at the end anyway.
  if (validator_.done()) return Clearance{buffered.size(), std::nullopt};
  return Clearance{checked_, std::nullopt};
}

}  // namespace outboard::io
