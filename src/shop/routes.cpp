#include "shop/routes.hpp"

#include <nlohmann/json.hpp>

#include "runtime/context.hpp"
#include "runtime/errors.hpp"
#include "runtime/json_body.hpp"
#include "runtime/password.hpp"
#include "shop/accounts.hpp"

namespace outboard::shop {
namespace {

namespace asio = boost::asio;
using http::Response;
using http::Status;
using runtime::RequestContext;
using runtime::error_response;

constexpr std::size_t kMaxPassword = 1024;
constexpr std::size_t kMinPassword = 8;

struct Credentials {
  std::string user;
  std::string password;
};

core::Result<Credentials> read_credentials(http::Request const& request) {
  auto body = runtime::parse_json_object(request);
  if (!body) return body.error();
  auto user = runtime::require_string(*body, "user", 64);
  if (!user) return user.error();
  if (auto why = check_user_name(*user)) return core::make_error(core::Errc::invalid, *why);
  auto password = runtime::require_string(*body, "password", kMaxPassword);
  if (!password) return password.error();
  return Credentials{*user, *password};
}

Response unauthorized(std::string_view detail) {
  return http::json_error(Status::unauthorized, "unauthorized", detail);
}

asio::awaitable<Response> signup(RequestContext& ctx) {
  auto creds = read_credentials(ctx.request());
  if (!creds) co_return error_response(creds.error());
  if (creds->password.size() < kMinPassword) {
    co_return http::json_error(Status::bad_request, "invalid",
                               "password must be at least " + std::to_string(kMinPassword) + " characters");
  }
  Accounts accounts(ctx.services().data);
  // Checked before hashing so a taken name costs no KDF time; create() is still the atomic check.
  auto existing = co_await accounts.find(creds->user);
  if (!existing) co_return error_response(existing.error());
  if (*existing) co_return http::json_error(Status::conflict, "user_exists", "user '" + creds->user + "' already exists");
  auto hash = co_await ctx.services().hasher.hash(creds->password);
  if (!hash) co_return error_response(hash.error());
  Account account{creds->user, *hash, 0};  // named: no temporaries inside co_await (g++ 12)
  auto created = co_await accounts.create(std::move(account));
  if (!created) {
    if (created.error().code == core::Errc::conflict) {
      co_return http::json_error(Status::conflict, "user_exists", created.error().context);
    }
    co_return error_response(created.error());
  }
  co_return http::json_response(Status::created, {{"user", creds->user}});
}

asio::awaitable<Response> login(RequestContext& ctx) {
  auto creds = read_credentials(ctx.request());
  if (!creds) co_return error_response(creds.error());
  Accounts accounts(ctx.services().data);
  auto account = co_await accounts.find(creds->user);
  if (!account) co_return error_response(account.error());
  if (!*account || !co_await ctx.services().hasher.verify((*account)->password_hash, creds->password)) {
    co_return unauthorized("wrong user or password");
  }
  ctx.session().set("user", creds->user);
  ctx.session().regenerate();
  co_return http::json_response(Status::ok, {{"user", creds->user}, {"instance", ctx.services().instance_id}});
}

asio::awaitable<Response> logout(RequestContext& ctx) {
  ctx.session().destroy();
  co_return http::json_response(Status::ok, {{"logged_out", true}});
}

asio::awaitable<Response> me(RequestContext& ctx) {
  auto user = co_await ctx.current_user();
  if (!user) co_return error_response(user.error());
  if (!*user) co_return unauthorized("not logged in, or the session has expired");
  co_return http::json_response(Status::ok, {{"user", **user}, {"instance", ctx.services().instance_id}});
}

}  // namespace

runtime::Router make_router() {
  using http::bhttp::verb;
  runtime::Router router;
  router.add(verb::post, "/signup", signup);
  router.add(verb::post, "/login", login);
  router.add(verb::post, "/logout", logout);
  router.add(verb::get, "/me", me);
  return router;
}

}  // namespace outboard::shop
