#pragma once
// JSON of a token's header and claims: one object, nested at most kMaxJsonDepth deep, with no
// member named twice (RFC 8725 section 3.2 / RFC 7515 section 5.2: two "alg" or two "exp" would let
// two parsers read two different tokens from one string).
#include <nlohmann/json.hpp>
#include <string_view>

#include "auth/jwt_reject.hpp"

namespace outboard::auth {

inline constexpr int kMaxJsonDepth = 8;

// JwtReject::bad_json for anything but such an object. Cost: linear in the text, which the token
// size cap bounds.
JwtResult<nlohmann::json> parse_json_object_strict(std::string_view text);

}  // namespace outboard::auth
