#include "auth/jwt_header.hpp"

namespace outboard::auth {

namespace {

std::string const* string_member(nlohmann::json const& object, char const* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? &it->get_ref<std::string const&>() : nullptr;
}

}  // namespace

JwtResult<JwsHeader> read_header(nlohmann::json const& header) {
  auto const* alg_text = string_member(header, "alg");
  auto alg = alg_text ? parse_alg(*alg_text) : std::nullopt;
  if (!alg) return JwtReject::alg_unsupported;
  if (header.contains("typ")) {
    auto const* typ = string_member(header, "typ");
    if (!typ || *typ != "JWT") return JwtReject::typ_unexpected;
  }
  if (header.contains("crit")) return JwtReject::crit_unsupported;
  if (auto b64 = header.find("b64"); b64 != header.end() && *b64 != true) return JwtReject::header_unsupported;
  auto const* kid = string_member(header, "kid");
  if (!kid || kid->empty()) return JwtReject::kid_missing;
  return JwsHeader{*alg, *kid};
}

}  // namespace outboard::auth
