#pragma once
// What `outboard serve` admits, as a pure function over bytes: the same steps its connection
// loop runs (io/strict_read.hpp over Beast's parser), without a socket. For the differential
// fuzz target (tests/fuzz/http_differential_fuzz.cpp), which checks the gateway admits the same.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/strict.hpp"

namespace outboard::io {

struct Admission {
  bool complete = false;                     // a whole request was read (accepted)
  std::optional<http::Rejection> rejection;  // refused: why (incomplete input is neither)
  std::string method, target, body;          // of the accepted request
};

// Reads one request from `bytes` as serve does: strict head, Beast's parser, chunk guard,
// body limit (413 "payload_too_large" when the Content-Length or the body is over it).
Admission admit_request(std::string_view bytes, http::HeadLimits const& limits, std::size_t max_body);

}  // namespace outboard::io
