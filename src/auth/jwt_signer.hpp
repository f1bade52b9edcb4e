#pragma once
// Minting tokens: the header is ours ({"alg","kid","typ":"JWT"} from the key), the claims are the
// caller's (iss, aud, sub, iat, nbf, exp, jti and any custom ones).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/jwt_key.hpp"

namespace outboard::auth {

// A compact JWS of `claims` (a JSON object) signed by `key`. Errc::invalid when the key cannot
// sign or `claims` is not an object.
core::Result<std::string> sign_jwt(JwtKey const& key, nlohmann::json const& claims);

// The compact JWS of exactly these header and payload bytes: the lower layer, which also lets
// tests mint tokens sign_jwt never would (alg none, crit, duplicate members, broken JSON).
core::Result<std::string> sign_compact(JwtKey const& key, std::string_view header_json, std::string_view payload);

}  // namespace outboard::auth
