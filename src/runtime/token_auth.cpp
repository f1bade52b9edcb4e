#include "runtime/token_auth.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

#include "auth/jwt_signer.hpp"
#include "core/random.hpp"

namespace outboard::runtime {
namespace {

constexpr std::size_t kJtiBytes = 16;
constexpr std::array<std::string_view, 4> kVerdictLabels{"valid", "token_revoked", "user_revoked", "store_error"};

bool is_token68_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/';
}

bool is_token68(std::string_view text) {
  std::size_t end = text.find_last_not_of('=');
  if (end == std::string_view::npos) return false;  // empty, or only padding
  for (std::size_t i = 0; i <= end; ++i) {
    if (!is_token68_char(text[i])) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::optional<std::string> non_empty_string(nlohmann::json const& claims, char const* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string() || it->get_ref<std::string const&>().empty()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::int64_t> time_ms(nlohmann::json const& claims, char const* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  return std::llround(it->get<double>() * 1000.0);
}

void count(std::atomic<std::uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

std::string counter_line(std::string_view name, std::string_view label, std::string_view value,
                         std::uint64_t count) {
  std::string line(name);
  if (!label.empty()) line += "{" + std::string(label) + "=\"" + std::string(value) + "\"}";
  return line + " " + std::to_string(count) + "\n";
}

}  // namespace

std::string_view refusal_code(std::size_t slot) {
  if (slot < refusal_slot(BearerRefusal::claims_incomplete)) return auth::to_code(static_cast<auth::JwtReject>(slot));
  switch (static_cast<BearerRefusal>(slot)) {
    case BearerRefusal::claims_incomplete: return "claims_incomplete";
    case BearerRefusal::token_revoked: return "token_revoked";
    case BearerRefusal::user_revoked: return "user_revoked";
    case BearerRefusal::count_: break;
  }
  return "unknown";
}

void TokenMetrics::render(std::string& out) const {
  auto load = [](std::atomic<std::uint64_t> const& a) { return a.load(std::memory_order_relaxed); };
  out += "# HELP outboard_auth_bearer_rejections_total Bearer tokens refused (401 invalid_token), by reason.\n"
         "# TYPE outboard_auth_bearer_rejections_total counter\n";
  for (std::size_t slot = 0; slot < refused.size(); ++slot) {
    out += counter_line("outboard_auth_bearer_rejections_total", "reason", refusal_code(slot), load(refused[slot]));
  }
  out += "# HELP outboard_auth_bearer_accepted_total Bearer tokens verified and not revoked.\n"
         "# TYPE outboard_auth_bearer_accepted_total counter\n";
  out += counter_line("outboard_auth_bearer_accepted_total", "", "", load(accepted));
  out += "# HELP outboard_auth_revocation_checks_total Revocation checks of verified tokens, by verdict.\n"
         "# TYPE outboard_auth_revocation_checks_total counter\n";
  for (std::size_t i = 0; i < revocation_checks.size(); ++i) {
    out += counter_line("outboard_auth_revocation_checks_total", "verdict", kVerdictLabels[i], load(revocation_checks[i]));
  }
  out += "# HELP outboard_auth_refresh_total Refresh token outcomes: families issued (logins), rotations won, "
         "racers given the same successor (grace), families ended by a reuse, other refusals.\n"
         "# TYPE outboard_auth_refresh_total counter\n";
  std::pair<std::string_view, std::atomic<std::uint64_t> const*> outcomes[] = {
      {"issued", &refresh.issued},           {"rotated", &refresh.rotated},
      {"grace", &refresh.grace_replays},     {"reused_revoked", &refresh.reuse_revocations},
      {"refused", &refresh.refused}};
  for (auto const& [label, counter] : outcomes) {
    out += counter_line("outboard_auth_refresh_total", "outcome", label, load(*counter));
  }
}

TokenService::TokenService(TokenConfig config, core::Clock const& clock)
    : config_(std::move(config)),
      clock_(clock),
      verifier_(config_.keys, config_.claims, clock),
      revocation_{config_.access_ttl, std::chrono::duration_cast<core::Millis>(config_.claims.leeway)} {}

core::Result<std::string> TokenService::mint_access(std::string const& user, std::string const& family,
                                                    std::int64_t issued_ms) const {
  double iat = static_cast<double>(issued_ms) / 1000.0;
  double exp = static_cast<double>(issued_ms + config_.access_ttl.count()) / 1000.0;
  nlohmann::json claims{{"iss", config_.claims.issuer}, {"aud", config_.claims.audience},
                        {"sub", user},  {"iat", iat}, {"nbf", iat}, {"exp", exp},
                        {"jti", core::random_token(kJtiBytes)}, {"sid", family}};
  return auth::sign_jwt(config_.keys->signing_key(), claims);
}

ThreadTokens::ThreadTokens(TokenService& service, state::Store& store)
    : shared(service),
      families(store, service.clock(), *service.config().refresh_key, service.config().refresh,
               service.metrics().refresh),
      revocation(store, service.clock(), service.revocation_policy()) {}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer";
  if (authorization.size() < kScheme.size() || !iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "Bearerish": another scheme
  std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return std::string_view{};
  std::string_view token = rest.substr(start);
  if (!is_token68(token)) return std::string_view{};
  return token;
}

std::optional<BearerIdentity> identity_of(nlohmann::json const& claims) {
  auto sub = non_empty_string(claims, "sub");
  auto jti = non_empty_string(claims, "jti");
  auto sid = non_empty_string(claims, "sid");
  auto iat = time_ms(claims, "iat");
  auto exp = time_ms(claims, "exp");
  if (!sub || !jti || !sid || !iat || !exp) return std::nullopt;
  auth::AccessClaims access{std::move(*sub), std::move(*jti), *iat, *exp, *sid};
  return BearerIdentity{std::move(*sid), std::move(access)};
}

boost::asio::awaitable<BearerOutcome> authenticate_bearer(ThreadTokens& tokens, std::string token) {
  TokenMetrics& metrics = tokens.shared.metrics();
  auto refuse = [&](std::size_t slot) {
    count(metrics.refused[slot]);
    // The reason as a code, never the token or a claim: enough to tell a clock problem from an attack.
    spdlog::debug("bearer token refused: {}", refusal_code(slot));
    return BearerOutcome{slot};
  };
  auto verified = tokens.shared.verifier().verify(token);
  if (!verified) co_return refuse(refusal_slot(verified.error()));
  auto identity = identity_of(verified->claims);
  if (!identity) co_return refuse(refusal_slot(BearerRefusal::claims_incomplete));
  auto verdict = co_await tokens.revocation.check(identity->claims);
  if (!verdict) {
    count(metrics.revocation_checks[3]);
    co_return BearerOutcome{verdict.error()};
  }
  count(metrics.revocation_checks[static_cast<std::size_t>(*verdict)]);
  switch (*verdict) {
    case auth::AccessVerdict::token_revoked: co_return refuse(refusal_slot(BearerRefusal::token_revoked));
    case auth::AccessVerdict::user_revoked: co_return refuse(refusal_slot(BearerRefusal::user_revoked));
    case auth::AccessVerdict::valid: break;
  }
  count(metrics.accepted);
  co_return BearerOutcome{std::move(*identity)};
}

http::Response invalid_token_response() {
  auto res = http::json_error(http::Status::unauthorized, "invalid_token", "the access token is not valid");
  res.set(http::bhttp::field::www_authenticate, "Bearer error=\"invalid_token\"");
  return res;
}

std::optional<AuthMode> parse_auth_mode(std::string_view text) {
  if (text == "cookie") return AuthMode::cookie;
  if (text == "jwt") return AuthMode::jwt;
  if (text == "both") return AuthMode::both;
  return std::nullopt;
}

std::string_view to_string(AuthMode mode) {
  switch (mode) {
    case AuthMode::cookie: return "cookie";
    case AuthMode::jwt: return "jwt";
    case AuthMode::both: return "both";
  }
  return "cookie";
}

}  // namespace outboard::runtime
