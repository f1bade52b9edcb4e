#include "auth/jwt_claims.hpp"

#include <algorithm>

namespace outboard::auth {

namespace {

// Times are compared in milliseconds as doubles: claims may be fractional or absurdly large
// (1e300), and a double holds both without the overflow an int64 conversion would hit.
enum class Presence { absent, invalid, present };

Presence numeric_date_ms(nlohmann::json const& claims, char const* name, double& out_ms) {
  auto it = claims.find(name);
  if (it == claims.end()) return Presence::absent;
  if (!it->is_number()) return Presence::invalid;
  out_ms = it->get<double>() * 1000.0;
  return Presence::present;
}

JwtResult<void> check_times(nlohmann::json const& claims, double now_ms, double leeway_ms) {
  double exp = 0;
  double nbf = 0;
  double iat = 0;
  auto const has_exp = numeric_date_ms(claims, "exp", exp);
  auto const has_nbf = numeric_date_ms(claims, "nbf", nbf);
  auto const has_iat = numeric_date_ms(claims, "iat", iat);
  if (has_exp == Presence::invalid || has_nbf == Presence::invalid || has_iat == Presence::invalid) {
    return JwtReject::claim_invalid;
  }
  if (has_exp == Presence::absent) return JwtReject::exp_missing;
  if (now_ms >= exp + leeway_ms) return JwtReject::expired;
  if (has_nbf == Presence::present && now_ms + leeway_ms < nbf) return JwtReject::not_yet_valid;
  if (has_iat == Presence::present && now_ms + leeway_ms < iat) return JwtReject::issued_in_future;
  return {};
}

JwtResult<void> check_issuer(nlohmann::json const& claims, std::string const& issuer) {
  auto it = claims.find("iss");
  if (it == claims.end()) return JwtReject::iss_missing;
  if (!it->is_string()) return JwtReject::claim_invalid;
  if (it->get_ref<std::string const&>() != issuer) return JwtReject::iss_wrong;
  return {};
}

// RFC 7519 4.1.3: a single string, or an array of strings of which one must be ours.
JwtResult<void> check_audience(nlohmann::json const& claims, std::string const& audience) {
  auto it = claims.find("aud");
  if (it == claims.end()) return JwtReject::aud_missing;
  if (it->is_string()) {
    return it->get_ref<std::string const&>() == audience ? JwtResult<void>() : JwtReject::aud_wrong;
  }
  if (!it->is_array() || !std::all_of(it->begin(), it->end(), [](auto const& v) { return v.is_string(); })) {
    return JwtReject::claim_invalid;
  }
  bool const ours = std::any_of(it->begin(), it->end(), [&](auto const& v) { return v == audience; });
  return ours ? JwtResult<void>() : JwtReject::aud_wrong;
}

}  // namespace

JwtResult<void> check_claims(nlohmann::json const& claims, ClaimsPolicy const& policy, std::int64_t now_ms) {
  auto const leeway_ms = static_cast<double>(std::chrono::milliseconds(policy.leeway).count());
  if (auto times = check_times(claims, static_cast<double>(now_ms), leeway_ms); !times) return times;
  if (auto iss = check_issuer(claims, policy.issuer); !iss) return iss;
  return check_audience(claims, policy.audience);
}

}  // namespace outboard::auth
