#pragma once
// Access tokens in the runtime (docs/AUTH.md): the machinery every worker thread shares (keys,
// verifier, counters), each thread's view of the token state on its own store handle (refresh
// families, revocation), and authenticating `Authorization: Bearer`: the signature and claims
// with no store call, then the one revocation check (two GETs, served by the redis near-cache
// when it is on).
#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/jwt_key_set.hpp"
#include "auth/jwt_reject.hpp"
#include "auth/jwt_verifier.hpp"
#include "auth/refresh_families.hpp"
#include "auth/revocation.hpp"
#include "core/clock.hpp"
#include "http/message.hpp"
#include "runtime/auth_mode.hpp"
#include "state/store.hpp"

namespace outboard::runtime {

struct TokenConfig {
  std::shared_ptr<auth::KeySet const> keys;  // the signing key first
  auth::ClaimsPolicy claims;                 // iss, aud, leeway
  core::Millis access_ttl{15 * 60 * 1000};
  std::shared_ptr<auth::RefreshKey const> refresh_key;
  auth::RefreshPolicy refresh;
};

// Why a bearer token was refused: each verifier reason (auth::JwtReject), then these.
enum class BearerRefusal : std::size_t {
  claims_incomplete = static_cast<std::size_t>(auth::JwtReject::aud_wrong) + 1,  // no sub/jti/sid/iat of ours
  token_revoked,  // logged out (its jti is denylisted)
  user_revoked,   // issued before the user's log-out-everywhere or password change
  count_
};
inline constexpr std::size_t kBearerRefusalSlots = static_cast<std::size_t>(BearerRefusal::count_);
// The slot of a verifier reason.
inline std::size_t refusal_slot(auth::JwtReject reason) { return static_cast<std::size_t>(reason); }
inline std::size_t refusal_slot(BearerRefusal reason) { return static_cast<std::size_t>(reason); }
// "expired", "bad_signature", ..., "token_revoked": for logs and the metric label.
std::string_view refusal_code(std::size_t slot);

// Counts since start, shared by every thread (relaxed atomics).
struct TokenMetrics {
  std::array<std::atomic<std::uint64_t>, kBearerRefusalSlots> refused{};
  std::atomic<std::uint64_t> accepted{0};
  // Revocation checks by verdict: valid, token_revoked, user_revoked, then store errors.
  std::array<std::atomic<std::uint64_t>, 4> revocation_checks{};
  auth::RefreshCounters refresh;

  // Prometheus text: outboard_auth_bearer_rejections_total{reason}, outboard_auth_bearer_accepted_total,
  // outboard_auth_revocation_checks_total{verdict}, outboard_auth_refresh_total{outcome}.
  void render(std::string& out) const;
};

// What every thread shares: immutable configuration, the verifier, the counters.
class TokenService {
 public:
  // Throws std::invalid_argument (start-up) for a policy the verifier refuses.
  TokenService(TokenConfig config, core::Clock const& clock);

  TokenConfig const& config() const { return config_; }
  auth::JwtVerifier const& verifier() const { return verifier_; }
  auth::RevocationPolicy const& revocation_policy() const { return revocation_; }
  core::Clock const& clock() const { return clock_; }
  TokenMetrics& metrics() { return metrics_; }
  TokenMetrics const& metrics() const { return metrics_; }

  // A signed access token for `user` in refresh family `family`. iat and nbf are `issued_ms`
  // with millisecond precision (a fractional NumericDate), so a token minted right after a
  // log-out-everywhere is not mistaken for one issued before it; exp is iat + the access TTL.
  core::Result<std::string> mint_access(std::string const& user, std::string const& family,
                                        std::int64_t issued_ms) const;

 private:
  TokenConfig config_;
  core::Clock const& clock_;
  auth::JwtVerifier verifier_;
  auth::RevocationPolicy revocation_;
  TokenMetrics metrics_;
};

// One worker thread's token state, on that thread's store handle.
class ThreadTokens {
 public:
  ThreadTokens(TokenService& shared, state::Store& store);

  TokenService& shared;
  auth::RefreshFamilies families;
  auth::Revocation revocation;
};

// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750
// 2.1): nullopt when the header is absent or names another scheme; an empty view when it is
// Bearer but what follows is not one token68.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The claims revocation needs, from a verified token's claims; nullopt unless sub, jti and sid
// are non-empty strings and iat and exp numbers (every token we mint has them).
std::optional<BearerIdentity> identity_of(nlohmann::json const& claims);

// Verifies `token` (no store call), then checks revocation (a store read). The identity, the
// slot of the refusal, or a store error (a 503: never "refused", never "valid"). Counted.
using BearerOutcome = std::variant<BearerIdentity, std::size_t, core::Error>;
boost::asio::awaitable<BearerOutcome> authenticate_bearer(ThreadTokens& tokens, std::string token);

// 401 with `WWW-Authenticate: Bearer error="invalid_token"` and a body that says only that.
http::Response invalid_token_response();

}  // namespace outboard::runtime
