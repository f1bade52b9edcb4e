#include "shop/routes.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <functional>

#include "runtime/context.hpp"
#include "runtime/errors.hpp"
#include "runtime/json_body.hpp"
#include "runtime/password.hpp"
#include "runtime/throttle.hpp"
#include "shop/accounts.hpp"
#include "shop/catalog.hpp"
#include "shop/orders.hpp"
#include "shop/receipts.hpp"
#include "shop/token_routes.hpp"
#include "state/blob/blob_store.hpp"

namespace outboard::shop {
namespace {

namespace asio = boost::asio;
using http::Response;
using http::Status;
using runtime::RequestContext;
using runtime::error_response;


// A 2xx whose JSON body is already written: what http::json_response sends, without building a
// json object only to print it (the hot routes: GET /me, POST /cart/items).
Response json_text_response(Status status, std::string body) {
  Response res{status, 11};
  res.set(http::bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

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

nlohmann::json product_json(Product const& p) {
  return {{"sku", p.sku}, {"name", p.name}, {"price_cents", p.price_cents}};
}

Response unauthorized(std::string_view detail) {
  return http::json_error(Status::unauthorized, "unauthorized", detail);
}

asio::awaitable<Response> signup(ShopConfig const& config, RequestContext& ctx) {
  auto creds = read_credentials(ctx.request());
  if (!creds) co_return error_response(creds.error());
  if (creds->password.size() < config.min_password_length) {
    co_return http::json_error(Status::bad_request, "password_too_short",
                               "password must be at least " + std::to_string(config.min_password_length) +
                                   " characters");
  }
  // Counted before the existence check and the KDF: both are what a flood of sign-ups costs.
  runtime::AuthThrottle throttle(ctx.services().data, ctx.services().throttle);
  auto wait = co_await throttle.signup_wait(ctx.client_address());
  if (!wait) co_return error_response(wait.error());
  if (*wait) {
    co_return runtime::too_many_requests("signup_throttled", "too many sign-ups from this address; retry later", **wait);
  }
  Accounts accounts(ctx.services().data);
  // Checked before hashing so a taken name costs no KDF time; create() is still the atomic check.
  auto existing = co_await accounts.find(creds->user);
  if (!existing) co_return error_response(existing.error());
  if (*existing) co_return http::json_error(Status::conflict, "user_exists", "user '" + creds->user + "' already exists");
  auto hash = co_await ctx.services().hasher.hash(creds->password);
  if (!hash) co_return runtime::kdf_error_response(hash.error());
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

// The same work whether the name exists or not: an unknown name's password is checked against
// the hasher's dummy hash, and its failures are throttled like any account's, so neither the
// response time nor a lockout tells which accounts exist.
asio::awaitable<Response> login(RequestContext& ctx) {
  auto creds = read_credentials(ctx.request());
  if (!creds) co_return error_response(creds.error());
  auto checked = co_await check_password(ctx, creds->user, creds->password, "wrong user or password");
  if (checked.refused) co_return std::move(*checked.refused);
  auto answer = co_await login_answer(ctx, creds->user, ctx.services().clock.now_ms());
  co_return answer;
}

asio::awaitable<Response> me(RequestContext& ctx) {
  auto user = co_await ctx.current_user();
  if (!user) co_return error_response(user.error());
  if (!*user) co_return unauthorized("not logged in, or the session has expired");
  // {"instance","user"}, the keys in the order nlohmann sorts them to, as the other routes write.
  co_return json_text_response(Status::ok, R"({"instance":)" + runtime::json_quote(ctx.services().instance_id) +
                                               R"(,"user":)" + runtime::json_quote(**user) + "}");
}

// The logged-in user, or the answer to send instead (401, or 503 when the store is down).
using UserOrAnswer = std::variant<std::string, Response>;

asio::awaitable<UserOrAnswer> require_user(RequestContext& ctx) {
  auto user = co_await ctx.current_user();
  if (!user) co_return UserOrAnswer{error_response(user.error())};
  if (!*user) co_return UserOrAnswer{unauthorized("not logged in, or the session has expired")};
  co_return UserOrAnswer{std::move(**user)};
}

// The catalogue, for anyone (no login, no store read): what the cart's skus may be.
asio::awaitable<Response> list_products(RequestContext&) {
  nlohmann::json products = nlohmann::json::array();
  for (auto const& p : catalog()) products.push_back(product_json(p));
  co_return http::json_response(Status::ok, {{"products", std::move(products)}});
}

asio::awaitable<Response> add_cart_item(ShopConfig const& config, RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  auto body = runtime::parse_json_object(ctx.request());
  if (!body) co_return error_response(body.error());
  auto sku = runtime::require_string(*body, "sku", 64);
  if (!sku) co_return error_response(sku.error());
  auto qty = body->find("qty");
  if (qty == body->end()) co_return http::json_error(Status::bad_request, "invalid", "missing field 'qty'");
  if (!qty->is_number_integer()) {
    co_return http::json_error(Status::bad_request, "invalid", "field 'qty' must be an integer");
  }
  // is_number_integer covers unsigned values past int64 too: read as double to range-check.
  if (qty->get<double>() < 1 || qty->get<double>() > static_cast<double>(config.max_qty)) {
    co_return http::json_error(Status::bad_request, "invalid",
                               "field 'qty' must be between 1 and " + std::to_string(config.max_qty));
  }
  if (!find_product(*sku)) {
    co_return http::json_error(Status::bad_request, "unknown_sku", "no product with sku '" + *sku + "'");
  }
  Orders orders(ctx.services().data, std::get<std::string>(who));
  auto line = co_await orders.add_line(ctx.idempotent_id(), *sku, qty->get<std::int64_t>(), ctx.services().clock.now_ms());
  if (!line) co_return error_response(line.error());
  if (ctx.services().jobs) {
    // What expire-carts walks; a lost touch only delays an expiry, so it does not fail the add.
    std::string user = std::get<std::string>(who);
    (void)co_await touch_cart(ctx.services().data, std::move(user), ctx.services().clock.now_ms());
  }
  co_return json_text_response(Status::created, R"({"line":)" + *line + "}");
}

asio::awaitable<Response> get_cart(RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  Orders orders(ctx.services().data, std::get<std::string>(who));
  auto cart = co_await orders.cart();
  if (!cart) co_return error_response(cart.error());
  co_return http::json_response(Status::ok, *cart);
}

asio::awaitable<Response> checkout(RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  Orders orders(ctx.services().data, std::get<std::string>(who));
  // The order id comes from the Idempotency-Key: a second run of this checkout finds its order.
  auto order = co_await orders.checkout(ctx.idempotent_id(), ctx.services().clock.now_ms());
  if (!order) co_return error_response(order.error());
  if (!*order) co_return http::json_error(Status::bad_request, "cart_empty", "there is nothing in the cart to check out");
  if (auto* queue = ctx.services().jobs) {
    // After the order's commit: a crash in between leaves an order without its receipt job until
    // the client retries with the same Idempotency-Key (the order is found, the enqueue is
    // deduplicated). A store that does not take the job is a 503, so the client does retry.
    auto spec = receipt_job(std::get<std::string>(who), (**order).value("order_id", ""));
    auto queued = co_await queue->enqueue(std::move(spec));
    if (!queued) co_return error_response(queued.error());
    if (ctx.services().jobs_nudge) ctx.services().jobs_nudge();
  }
  auto res = http::json_response(Status::created, {{"order", **order}});
  res.set(http::bhttp::field::location, "/orders/" + (**order).value("order_id", ""));
  co_return res;
}

asio::awaitable<Response> list_orders(RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  Orders orders(ctx.services().data, std::get<std::string>(who));
  auto list = co_await orders.list();
  if (!list) co_return error_response(list.error());
  co_return http::json_response(Status::ok, *list);
}

asio::awaitable<Response> get_order(RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  Orders orders(ctx.services().data, std::get<std::string>(who));
  auto order = co_await orders.find(ctx.param("id"));
  if (!order) co_return error_response(order.error());
  if (!*order) co_return http::json_error(Status::not_found, "not_found", "no order '" + ctx.param("id") + "'");
  nlohmann::json answer{{"order", std::move(**order)}};
  if (ctx.services().jobs) {
    auto receipt = co_await receipt_status(ctx.services().data, ctx.services().jobs, std::get<std::string>(who), ctx.param("id"));
    if (!receipt) co_return error_response(receipt.error());
    answer["receipt"] = std::move(*receipt);
  }
  co_return http::json_response(Status::ok, answer);
}

Response body_error(core::Error const& e) {
  switch (e.code) {
    case core::Errc::too_large: return http::json_error(Status::payload_too_large, "payload_too_large", e.context);
    case core::Errc::timeout: return http::json_error(Status::request_timeout, "request_timeout", e.context);
    default: return http::json_error(Status::bad_request, "bad_body", e.context);
  }
}

asio::awaitable<Response> upload(RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  auto writer = ctx.services().blobs.begin();
  if (!writer) co_return error_response(writer.error());
  // Streamed: each piece goes to the blob store as it arrives; the upload is never whole here.
  for (;;) {
    auto piece = co_await ctx.body()->read();
    if (!piece) co_return body_error(piece.error());
    if (piece->empty()) break;
    if (auto w = co_await (*writer)->write(std::move(*piece)); !w) co_return error_response(w.error());
  }
  auto info = co_await (*writer)->commit();
  if (!info) co_return error_response(info.error());
  std::string type(ctx.request()[http::bhttp::field::content_type]);
  nlohmann::json meta{{"owner", std::get<std::string>(who)}, {"sha256", info->sha256}, {"size", info->size},
                      {"content_type", type.empty() ? "application/octet-stream" : type},
                      {"created_ms", ctx.services().clock.now_ms()}};
  if (auto r = co_await ctx.services().data.set("upload:" + info->id, meta.dump()); !r) {
    co_return error_response(r.error());
  }
  auto res = http::json_response(Status::created, {{"id", info->id}, {"sha256", info->sha256}, {"size", info->size}});
  res.set(http::bhttp::field::location, "/uploads/" + info->id);
  co_return res;
}

asio::awaitable<Response> download(RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  std::string id = ctx.param("id");
  auto meta_text = co_await ctx.services().data.get("upload:" + id);
  if (!meta_text) co_return error_response(meta_text.error());
  auto meta = *meta_text ? nlohmann::json::parse(**meta_text, nullptr, false) : nlohmann::json();
  // Someone else's upload answers exactly like a missing one: ids are not to be probed.
  if (!meta.is_object() || meta.value("owner", "") != std::get<std::string>(who)) {
    co_return http::json_error(Status::not_found, "not_found", "no upload '" + id + "'");
  }
  auto bytes = co_await ctx.services().blobs.get(id);
  if (!bytes) co_return error_response(bytes.error());
  Response res{Status::ok, 11};
  res.set(http::bhttp::field::content_type, meta.value("content_type", "application/octet-stream"));
  res.set("X-Content-SHA256", meta.value("sha256", ""));
  res.body() = std::move(*bytes);
  res.prepare_payload();
  co_return res;
}

// Deterministic per user, so a cached and a fresh answer can be compared.
nlohmann::json compute_recommendations(std::string const& user) {
  std::size_t seed = std::hash<std::string>{}(user);
  nlohmann::json items = nlohmann::json::array();
  auto products = catalog();
  for (std::size_t i = 0; i < 3; ++i) items.push_back(product_json(products[(seed + i * 7) % products.size()]));
  return items;
}

asio::awaitable<Response> recommendations(ShopConfig const& config, RequestContext& ctx) {
  auto who = co_await require_user(ctx);
  if (auto* answer = std::get_if<Response>(&who)) co_return std::move(*answer);
  std::string const& user = std::get<std::string>(who);
  std::string key = "reco:{" + user + "}";
  auto cached = co_await ctx.services().data.get(key);
  if (!cached) co_return error_response(cached.error());
  if (*cached) {
    auto items = nlohmann::json::parse(**cached, nullptr, false);
    if (!items.is_discarded()) {
      auto res = http::json_response(Status::ok, {{"items", items}, {"cache", "hit"}});
      res.set("X-Cache", "HIT");
      co_return res;
    }
  }
  // The expensive part: waits without blocking the event loop, like a call to a slow model.
  asio::steady_timer cost(co_await asio::this_coro::executor, config.recommendations_cost);
  co_await cost.async_wait(asio::use_awaitable);
  nlohmann::json items = compute_recommendations(user);
  if (auto r = co_await ctx.services().data.set(key, items.dump(), config.recommendations_ttl); !r) {
    co_return error_response(r.error());
  }
  auto res = http::json_response(Status::ok, {{"items", items}, {"cache", "miss"}});
  res.set("X-Cache", "MISS");
  co_return res;
}

}  // namespace

runtime::Router make_router(ShopConfig const& config) {
  using http::bhttp::verb;
  runtime::Router router;
  runtime::RouteOptions idempotent;
  idempotent.idempotent = true;
  runtime::RouteOptions streamed;
  streamed.stream_limit = config.max_upload_bytes;

  runtime::RouteOptions anonymous;  // sign-up and login look at no credentials
  anonymous.ignores_bearer = true;

  router.add(verb::post, "/signup", [config](RequestContext& ctx) { return signup(config, ctx); }, anonymous);
  router.add(verb::post, "/login", login, anonymous);
  router.add(verb::post, "/logout", logout);
  router.add(verb::get, "/me", me);
  router.add(verb::get, "/products", list_products);
  router.add(verb::post, "/cart/items", [config](RequestContext& ctx) { return add_cart_item(config, ctx); }, idempotent);
  router.add(verb::get, "/cart", get_cart);
  router.add(verb::post, "/checkout", checkout, idempotent);
  router.add(verb::get, "/orders", list_orders);
  router.add(verb::get, "/orders/{id}", get_order);
  router.add(verb::post, "/uploads", upload, streamed);
  router.add(verb::get, "/uploads/{id}", download);
  router.add(verb::get, "/recommendations", [config](RequestContext& ctx) { return recommendations(config, ctx); });
  add_token_routes(router, config);
  return router;
}

}  // namespace outboard::shop
