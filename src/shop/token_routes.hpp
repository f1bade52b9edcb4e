#pragma once
// The shop's routes for access and refresh tokens, and the ways out (docs/AUTH.md,
// /work/coord contract "serve's token API"): the login answer in each auth mode, POST
// /token/refresh, POST /logout, POST /logout/all, POST /password, GET /.well-known/jwks.json.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "runtime/router.hpp"
#include "shop/routes.hpp"

namespace outboard::runtime {
class RequestContext;
}

namespace outboard::shop {

// The answer to a successful login of `user`: in cookie and both modes a new session (the id
// regenerated), in jwt and both modes a new refresh family and an access token issued at
// `issued_ms`: {"user","instance"[,"access_token","token_type","expires_in","refresh_token",
// "refresh_expires_in"]}.
boost::asio::awaitable<http::Response> login_answer(runtime::RequestContext& ctx, std::string user,
                                                    std::int64_t issued_ms);

// A password check of `user` with the login rules: throttled (429 while locked), the same KDF
// work for an unknown user, a wrong password counted as a failed login (401 `wrong_detail`), a
// right one clearing the account's failures. `refused` is the answer to send instead; otherwise
// `hash` is the account's current password hash.
struct PasswordCheck {
  std::optional<http::Response> refused;
  std::string hash;
};
boost::asio::awaitable<PasswordCheck> check_password(runtime::RequestContext& ctx, std::string user,
                                                     std::string password, std::string wrong_detail);

// Logout: the cookie session ends; with a bearer token, its jti is denylisted and its family
// (`sid`) ended; a {"refresh_token"} body ends that token's family too. Always 200 unless the
// store is down.
boost::asio::awaitable<http::Response> logout(runtime::RequestContext& ctx);

// Adds /token/refresh, /logout/all, /password and /.well-known/jwks.json.
void add_token_routes(runtime::Router& router, ShopConfig const& config);

}  // namespace outboard::shop
