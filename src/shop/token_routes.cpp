#include "shop/token_routes.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "auth/jwt_jwk.hpp"
#include "runtime/context.hpp"
#include "runtime/errors.hpp"
#include "runtime/json_body.hpp"
#include "runtime/password.hpp"
#include "runtime/throttle.hpp"
#include "runtime/token_auth.hpp"
#include "shop/accounts.hpp"

namespace outboard::shop {
namespace {

namespace asio = boost::asio;
using http::Response;
using http::Status;
using runtime::RequestContext;
using runtime::error_response;

constexpr std::size_t kMaxRefreshToken = 256;

Response tokens_off() {
  return http::json_error(Status::not_found, "not_found", "tokens are off on this server (auth.mode = cookie)");
}

// The same answer for every refusal: which one it was (unknown, expired, ended, reused) is for
// the logs and metrics, not for whoever holds the token.
Response invalid_grant() {
  return http::json_error(Status::unauthorized, "invalid_grant",
                          "the refresh token is not valid (expired, revoked or unknown); log in again");
}

// Adds the token part of a login or refresh answer to `body`. (Not a Result<json>: a json is
// constructible from anything, an Error included, so that result type is ambiguous.)
core::Result<void> add_token_pair(nlohmann::json& body, runtime::ThreadTokens& tokens,
                                  auth::IssuedRefresh const& refresh, std::int64_t issued_ms) {
  auto access = tokens.shared.mint_access(refresh.user, refresh.family, issued_ms);
  if (!access) return access.error();
  auto const& config = tokens.shared.config();
  std::int64_t refresh_left_ms = std::max<std::int64_t>(0, refresh.expires_ms - tokens.shared.clock().now_ms());
  body["access_token"] = std::move(*access);
  body["token_type"] = "Bearer";
  body["expires_in"] = config.access_ttl.count() / 1000;
  body["refresh_token"] = refresh.token;
  body["refresh_expires_in"] = refresh_left_ms / 1000;
  return {};
}

asio::awaitable<Response> refresh(RequestContext& ctx) {
  auto* tokens = ctx.services().tokens;
  if (!tokens) co_return tokens_off();
  auto body = runtime::parse_json_object(ctx.request());
  if (!body) co_return error_response(body.error());
  auto text = runtime::require_string(*body, "refresh_token", kMaxRefreshToken);
  if (!text) co_return error_response(text.error());
  auto outcome = co_await tokens->families.rotate(std::move(*text));
  if (!outcome) co_return error_response(outcome.error());
  if (auto* refusal = std::get_if<auth::RefreshRefusal>(&*outcome)) {
    spdlog::debug("refresh refused: {}", auth::to_string(*refusal));
    co_return invalid_grant();
  }
  auto const& issued = std::get<auth::IssuedRefresh>(*outcome);
  nlohmann::json answer{{"user", issued.user}, {"instance", ctx.services().instance_id}};
  if (auto added = add_token_pair(answer, *tokens, issued, ctx.services().clock.now_ms()); !added) {
    co_return error_response(added.error());
  }
  co_return http::json_response(Status::ok, answer);
}

// Ends everything `user` is logged in with: access tokens (the not-before), refresh families,
// cookie sessions. The current cookie session is cleared too unless `keep_this_session` (a
// password change gives the caller a new one right after).
struct Ended {
  std::size_t families = 0;
  std::size_t sessions = 0;
};

asio::awaitable<core::Result<Ended>> end_everything(RequestContext& ctx, std::string const& user,
                                                    bool keep_this_session) {
  Ended ended;
  if (auto* tokens = ctx.services().tokens) {
    // The not-before first: it stops every access token already out, the most urgent part.
    if (auto r = co_await tokens->revocation.revoke_user(user); !r) co_return r.error();
    auto families = co_await tokens->families.end_all_families(user);
    if (!families) co_return families.error();
    ended.families = *families;
  }
  auto sessions = co_await runtime::end_user_sessions(ctx.services().sessions, user);
  if (!sessions) co_return sessions.error();
  ended.sessions = *sessions;
  if (runtime::accepts_cookies(ctx.services().auth_mode) && !keep_this_session) ctx.session().destroy();
  co_return ended;
}

asio::awaitable<Response> logout_all(RequestContext& ctx) {
  auto user = co_await ctx.current_user();
  if (!user) co_return error_response(user.error());
  if (!*user) co_return http::json_error(Status::unauthorized, "unauthorized", "not logged in");
  auto ended = co_await end_everything(ctx, **user, false);
  if (!ended) co_return error_response(ended.error());
  co_return http::json_response(
      Status::ok, {{"logged_out", true}, {"families_ended", ended->families}, {"sessions_ended", ended->sessions}});
}

struct PasswordChange {
  std::string current;
  std::string next;
};

core::Result<PasswordChange> read_password_change(http::Request const& request) {
  auto body = runtime::parse_json_object(request);
  if (!body) return body.error();
  auto current = runtime::require_string(*body, "current_password", kMaxPassword);
  if (!current) return current.error();
  auto next = runtime::require_string(*body, "new_password", kMaxPassword);
  if (!next) return next.error();
  return PasswordChange{std::move(*current), std::move(*next)};
}

// The current password is checked as a login is (check_password), so a stolen session cannot be
// used to guess the password faster than the login page allows.
asio::awaitable<Response> change_password(ShopConfig const& config, RequestContext& ctx) {
  auto user_result = co_await ctx.current_user();
  if (!user_result) co_return error_response(user_result.error());
  if (!*user_result) co_return http::json_error(Status::unauthorized, "unauthorized", "not logged in");
  std::string const user = **user_result;
  auto change = read_password_change(ctx.request());
  if (!change) co_return error_response(change.error());
  if (change->next.size() < config.min_password_length) {
    co_return http::json_error(Status::bad_request, "password_too_short",
                               "password must be at least " + std::to_string(config.min_password_length) +
                                   " characters");
  }
  auto checked = co_await check_password(ctx, user, change->current, "the current password is wrong");
  if (checked.refused) co_return std::move(*checked.refused);
  auto new_hash = co_await ctx.services().hasher.hash(change->next);
  if (!new_hash) co_return runtime::kdf_error_response(new_hash.error());
  Accounts accounts(ctx.services().data);
  auto changed = co_await accounts.change_password(user, std::move(checked.hash), std::move(*new_hash));
  if (!changed) co_return error_response(changed.error());
  if (!*changed) {
    co_return http::json_error(Status::conflict, "conflict", "the password was changed meanwhile; try again");
  }
  auto ended = co_await end_everything(ctx, user, true);
  if (!ended) co_return error_response(ended.error());
  // One millisecond past now: the not-before just written is "now", and a token issued at it
  // counts as issued before it.
  auto answer = co_await login_answer(ctx, user, ctx.services().clock.now_ms() + 1);
  co_return answer;
}

asio::awaitable<Response> jwks(RequestContext& ctx) {
  auto* tokens = ctx.services().tokens;
  if (!tokens) co_return tokens_off();
  auto res = http::json_response(Status::ok, auth::jwks_json(*tokens->shared.config().keys));
  // Relying parties may cache it briefly; a rotation publishes the new key before it signs.
  res.set(http::bhttp::field::cache_control, "public, max-age=60");
  co_return res;
}

}  // namespace

asio::awaitable<PasswordCheck> check_password(RequestContext& ctx, std::string user, std::string password,
                                              std::string wrong_detail) {
  runtime::AuthThrottle throttle(ctx.services().data, ctx.services().throttle);
  auto wait = co_await throttle.login_wait(user, ctx.client_address());
  if (!wait) co_return PasswordCheck{error_response(wait.error()), {}};
  if (*wait) {
    co_return PasswordCheck{runtime::too_many_requests("login_throttled", "too many failed logins; retry later", **wait), {}};
  }
  Accounts accounts(ctx.services().data);
  auto account = co_await accounts.find(user);
  if (!account) co_return PasswordCheck{error_response(account.error()), {}};
  std::optional<std::string> stored_hash;
  if (*account) stored_hash = (*account)->password_hash;
  // An unknown user's password is checked against the hasher's dummy hash: the same work.
  auto matched = co_await ctx.services().hasher.verify(stored_hash, std::move(password));
  if (!matched) co_return PasswordCheck{runtime::kdf_error_response(matched.error()), {}};
  if (!*matched) {
    if (auto counted = co_await throttle.login_failed(user, ctx.client_address()); !counted) {
      co_return PasswordCheck{error_response(counted.error()), {}};
    }
    co_return PasswordCheck{http::json_error(Status::unauthorized, "unauthorized", wrong_detail), {}};
  }
  if (auto cleared = co_await throttle.login_succeeded(user); !cleared) {
    co_return PasswordCheck{error_response(cleared.error()), {}};
  }
  co_return PasswordCheck{std::nullopt, std::move(*stored_hash)};
}

asio::awaitable<Response> login_answer(RequestContext& ctx, std::string user, std::int64_t issued_ms) {
  nlohmann::json body{{"user", user}, {"instance", ctx.services().instance_id}};
  if (runtime::accepts_cookies(ctx.services().auth_mode)) {
    ctx.session().set("user", user);
    ctx.session().regenerate();
  }
  if (auto* tokens = ctx.services().tokens) {
    auto issued = co_await tokens->families.issue(user);
    if (!issued) co_return error_response(issued.error());
    if (auto added = add_token_pair(body, *tokens, *issued, issued_ms); !added) co_return error_response(added.error());
  }
  co_return http::json_response(Status::ok, body);
}

asio::awaitable<Response> logout(RequestContext& ctx) {
  if (runtime::accepts_cookies(ctx.services().auth_mode)) ctx.session().destroy();
  auto* tokens = ctx.services().tokens;
  if (!tokens) co_return http::json_response(Status::ok, {{"logged_out", true}});
  if (auto const* bearer = ctx.bearer()) {
    if (auto r = co_await tokens->revocation.revoke_token(bearer->claims); !r) co_return error_response(r.error());
    auto ended = co_await tokens->families.end_family_of(bearer->family, bearer->user());
    if (!ended) co_return error_response(ended.error());
  }
  // A client may also (or only) hand back its refresh token; a body that is not one is ignored,
  // since a logout must not fail for want of a well-formed goodbye.
  if (!ctx.request().body().empty()) {
    auto body = runtime::parse_json_object(ctx.request());
    if (body) {
      if (auto text = runtime::require_string(*body, "refresh_token", kMaxRefreshToken)) {
        auto ended = co_await tokens->families.end_family(std::move(*text));
        if (!ended) co_return error_response(ended.error());
      }
    }
  }
  co_return http::json_response(Status::ok, {{"logged_out", true}});
}

void add_token_routes(runtime::Router& router, ShopConfig const& config) {
  using http::bhttp::verb;
  runtime::RouteOptions anonymous;
  anonymous.ignores_bearer = true;
  router.add(verb::post, "/token/refresh", refresh, anonymous);
  router.add(verb::post, "/logout/all", logout_all);
  router.add(verb::post, "/password", [config](RequestContext& ctx) { return change_password(config, ctx); });
  router.add(verb::get, "/.well-known/jwks.json", jwks, anonymous);
}

}  // namespace outboard::shop
