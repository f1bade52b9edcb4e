#include "auth/jwt_alg.hpp"

#include <array>

namespace outboard::auth {

namespace {
constexpr std::array kAlgs{JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256};
}  // namespace

std::string_view to_string(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::eddsa: return "EdDSA";
    case JwsAlg::es256: return "ES256";
    case JwsAlg::rs256: return "RS256";
    case JwsAlg::hs256: return "HS256";
  }
  return "?";
}

std::optional<JwsAlg> parse_alg(std::string_view text) {
  for (auto alg : kAlgs) {
    if (to_string(alg) == text) return alg;
  }
  return std::nullopt;
}

}  // namespace outboard::auth
