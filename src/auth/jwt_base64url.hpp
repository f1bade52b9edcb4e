#pragma once
// Strict base64url (RFC 7515 section 2 / RFC 4648 section 5) for JWS compact tokens.
#include <string>
#include <string_view>

namespace outboard::auth {

// Unpadded base64url of `bytes`.
std::string base64url_encode(std::string_view bytes);

}  // namespace outboard::auth
