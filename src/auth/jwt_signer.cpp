#include "auth/jwt_signer.hpp"

#include "auth/jwt_compact.hpp"
#include "core/random.hpp"

namespace outboard::auth {

core::Result<std::string> sign_compact(JwtKey const& key, std::string_view header_json, std::string_view payload) {
  std::string input = signing_input_of(header_json, payload);
  auto signature = key.sign(input);
  if (!signature) return signature.error();
  return input + "." + core::base64url_encode(*signature);
}

core::Result<std::string> sign_jwt(JwtKey const& key, nlohmann::json const& claims) {
  if (!claims.is_object()) return core::make_error(core::Errc::invalid, "claims must be a JSON object");
  nlohmann::json header = {{"alg", std::string(to_string(key.alg()))}, {"kid", key.kid()}, {"typ", "JWT"}};
  return sign_compact(key, header.dump(), claims.dump());
}

}  // namespace outboard::auth
