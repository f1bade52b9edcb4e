#pragma once
// JWS compact serialization (RFC 7515 section 7.1): BASE64URL(header) "." BASE64URL(payload) "."
// BASE64URL(signature), taken apart strictly and before any cryptography.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/jwt_reject.hpp"

namespace outboard::auth {

// Larger tokens are refused before they are decoded: ours are a few hundred bytes, and a bound
// keeps decoding and parsing cost per request small whatever a client sends.
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;

struct JwsParts {
  std::string_view signing_input;  // "header.payload" as received: what the signature covers
  nlohmann::json header;           // parsed (strict JSON object)
  std::string payload;             // decoded bytes; parsed only once the signature verified
  std::string signature;           // decoded bytes
};

// Splits, size-checks and decodes `token`; the header is parsed, the payload is not. The views in
// the result point into `token`, which must outlive it.
JwtResult<JwsParts> parse_compact(std::string_view token);

// "b64(header).b64(payload)": the signing input for raw header and payload bytes.
std::string signing_input_of(std::string_view header_json, std::string_view payload);

}  // namespace outboard::auth
