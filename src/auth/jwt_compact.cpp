#include "auth/jwt_compact.hpp"

#include <array>

#include "auth/jwt_json.hpp"
#include "core/random.hpp"

namespace outboard::auth {

namespace {

// core::base64url_decode is the strict decoder: the URL-safe alphabet only (no '+', '/', '=' or
// whitespace) and zero leftover bits, so each byte string has exactly one accepted spelling.
JwtResult<std::string> decode_segment(std::string_view segment) {
  std::string bytes;
  if (!core::base64url_decode(segment, bytes)) return JwtReject::bad_base64;
  return bytes;
}

// The three segments; false unless there are exactly two dots and no segment is empty.
bool split_three(std::string_view token, std::array<std::string_view, 3>& out) {
  auto first = token.find('.');
  if (first == std::string_view::npos) return false;
  auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return false;
  out = {token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
  return !out[0].empty() && !out[1].empty() && !out[2].empty();
}

}  // namespace

JwtResult<JwsParts> parse_compact(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return JwtReject::too_large;
  std::array<std::string_view, 3> segments;
  if (!split_three(token, segments)) return JwtReject::malformed;
  auto header_bytes = decode_segment(segments[0]);
  auto payload = decode_segment(segments[1]);
  auto signature = decode_segment(segments[2]);
  if (!header_bytes || !payload || !signature) return JwtReject::bad_base64;
  auto header = parse_json_object_strict(*header_bytes);
  if (!header) return header.error();
  return JwsParts{token.substr(0, segments[0].size() + 1 + segments[1].size()), std::move(*header),
                  std::move(*payload), std::move(*signature)};
}

std::string signing_input_of(std::string_view header_json, std::string_view payload) {
  return core::base64url_encode(header_json) + "." + core::base64url_encode(payload);
}

}  // namespace outboard::auth
