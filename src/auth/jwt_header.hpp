#pragma once
// The JOSE header rules, checked before any key is looked up.
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt_alg.hpp"
#include "auth/jwt_reject.hpp"

namespace outboard::auth {

struct JwsHeader {
  JwsAlg alg;
  std::string kid;
};

// alg one of ours (so "none" and unknown ones fail here), kid a non-empty string, typ absent or
// "JWT", no crit (we implement no extension, so any listed one is unknown: RFC 7515 4.1.11), no
// b64 other than true (RFC 7797 unencoded payloads change what the signature covers). Other
// members are ignored; in particular jwk, jku, x5u and x5c never choose a key.
JwtResult<JwsHeader> read_header(nlohmann::json const& header);

}  // namespace outboard::auth
