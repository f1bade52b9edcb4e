#include "defects.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "runtime/context.hpp"
#include "runtime/router.hpp"
#include "state/store.hpp"

namespace outboard::testing {
namespace {

namespace asio = boost::asio;
using http::Response;
using http::Status;
using runtime::Handler;
using runtime::RequestContext;
using verb = http::bhttp::verb;

// The defects that do not break every call break one call in kEvery, starting with the first: the
// user meets good answers and bad ones, as with a real intermittent bug, and the count is still
// certain however few calls a short run on a slow machine makes (one is enough).
constexpr std::uint64_t kEvery = 3;

// One route's call count. Shared by the copies of the decorated handler on every worker thread;
// it belongs to the route, not to the process.
using CallCount = std::shared_ptr<std::atomic<std::uint64_t>>;

bool is_nth_call(CallCount const& calls) { return calls->fetch_add(1, std::memory_order_relaxed) % kEvery == 0; }

// The answer's JSON body, or a non-object when it is not one.
nlohmann::json json_body(Response const& res) { return nlohmann::json::parse(res.body(), nullptr, false); }

void replace_json_body(Response& res, nlohmann::json const& doc) {
  res.body() = doc.dump();
  res.prepare_payload();
}

// Handlers are coroutines: each lambda below captures by value and calls one of these free
// coroutines, which take the inner handler and the counter by value (see src/core/offload.hpp on
// g++ 12), so nothing a coroutine frame uses lives in a lambda that may be gone.

// GET /me: a 401 on a live session, every kEvery-th call.
asio::awaitable<Response> log_out_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  if (is_nth_call(calls)) {
    co_return http::json_error(Status::unauthorized, "unauthorized", "not logged in, or the session has expired");
  }
  co_return co_await inner(ctx);
}

// POST /cart/items: every kEvery-th call answers 201 with a line (the request's sku and qty, the
// id the real handler would give it) and writes nothing.
asio::awaitable<Response> lose_cart_line_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  if (!is_nth_call(calls)) co_return co_await inner(ctx);
  auto line = nlohmann::json::parse(ctx.request().body(), nullptr, false);
  if (!line.is_object()) line = nlohmann::json::object();
  line["line_id"] = ctx.idempotent_id();
  co_return http::json_response(Status::created, {{"line", line}});
}

// GET /cart: the cart's first line is listed twice.
asio::awaitable<Response> list_a_cart_line_twice(Handler inner, RequestContext& ctx) {
  Response res = co_await inner(ctx);
  auto doc = json_body(res);
  if (res.result() != Status::ok || !doc.is_object()) co_return res;
  auto lines = doc.find("lines");
  if (lines == doc.end() || !lines->is_array() || lines->empty()) co_return res;
  nlohmann::json again = lines->front();
  lines->push_back(std::move(again));
  replace_json_body(res, doc);
  co_return res;
}

// POST /checkout: every kEvery-th checkout empties the cart, makes no order and answers that the
// cart was empty (400 cart_empty): the lines the user had added are gone.
asio::awaitable<Response> empty_cart_at_checkout_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  if (!is_nth_call(calls)) co_return co_await inner(ctx);
  auto user = co_await ctx.current_user();
  if (!user || !*user) co_return co_await inner(ctx);  // not logged in: the real answer
  // The cart's key, as shop/orders.hpp lays it out.
  std::string cart_key = "cart:{" + **user + "}";
  auto dropped = co_await ctx.services().data.del(cart_key);
  if (!dropped) co_return co_await inner(ctx);
  co_return http::json_error(Status::bad_request, "cart_empty", "there is nothing in the cart to check out");
}

// POST /cart/items: every kEvery-th line that was added is written a second time under another
// id, as a handler that ran twice with a key of its own would; the first answer is sent.
asio::awaitable<Response> duplicate_cart_line_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  Response first = co_await inner(ctx);
  if (first.result() != Status::created || !is_nth_call(calls)) co_return first;
  std::string id = ctx.idempotent_id();
  ctx.set_idempotent_id(id + "-again");
  [[maybe_unused]] Response again = co_await inner(ctx);  // its answer goes nowhere; the line it wrote stays
  ctx.set_idempotent_id(id);
  co_return first;
}

// The "orders" array of a GET /orders answer (200) listing at least one order; null otherwise.
nlohmann::json* listed_orders(Response const& res, nlohmann::json& doc) {
  if (res.result() != Status::ok || !doc.is_object()) return nullptr;
  auto it = doc.find("orders");
  if (it == doc.end() || !it->is_array() || it->empty()) return nullptr;
  return &*it;
}

// GET /orders: the oldest order is listed a second time. The copy carries no lines, so that
// only the ledger's "listed twice" check can see it (not "a line in two orders").
asio::awaitable<Response> list_an_order_twice(Handler inner, RequestContext& ctx) {
  Response res = co_await inner(ctx);
  auto doc = json_body(res);
  if (auto* orders = listed_orders(res, doc)) {
    nlohmann::json again = orders->front();
    again["lines"] = nlohmann::json::array();
    orders->push_back(std::move(again));
    replace_json_body(res, doc);
  }
  co_return res;
}

// GET /orders: an order nobody placed is listed too, without lines. Its id is made from the
// oldest order's, so it is the same on every listing of one user's orders (a made-up order that
// came and went would also read as a lost one).
asio::awaitable<Response> list_an_unplaced_order(Handler inner, RequestContext& ctx) {
  Response res = co_await inner(ctx);
  auto doc = json_body(res);
  if (auto* orders = listed_orders(res, doc)) {
    std::string id = "unplaced-" + orders->front().value("order_id", std::string());
    orders->push_back({{"order_id", id}, {"lines", nlohmann::json::array()}});
    replace_json_body(res, doc);
  }
  co_return res;
}

// GET /orders: the oldest order's first line is listed in the newest order as well (one cart
// line in two orders; with a single order, twice in that one: it fires from a user's first order).
asio::awaitable<Response> list_a_line_in_two_orders(Handler inner, RequestContext& ctx) {
  Response res = co_await inner(ctx);
  auto doc = json_body(res);
  auto* orders = listed_orders(res, doc);
  if (!orders) co_return res;
  auto const& oldest_lines = orders->front()["lines"];
  auto& newest_lines = orders->back()["lines"];
  if (!oldest_lines.is_array() || oldest_lines.empty() || !newest_lines.is_array()) co_return res;
  nlohmann::json line = oldest_lines.front();  // a copy: both may be one array
  newest_lines.push_back(std::move(line));
  replace_json_body(res, doc);
  co_return res;
}

// GET /orders: the newest order (the list is oldest first) is left out.
asio::awaitable<Response> leave_out_newest_order(Handler inner, RequestContext& ctx) {
  Response res = co_await inner(ctx);
  auto doc = json_body(res);
  if (auto* orders = listed_orders(res, doc)) {
    orders->erase(orders->size() - 1);
    replace_json_body(res, doc);
  }
  co_return res;
}

// GET /uploads/{id}: every kEvery-th download has its first byte changed (same length, same
// X-Content-SHA256 header: only a client comparing the bytes can tell).
asio::awaitable<Response> corrupt_download_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  Response res = co_await inner(ctx);
  if (res.result() != Status::ok || res.body().empty() || !is_nth_call(calls)) co_return res;
  res.body()[0] = static_cast<char>(res.body()[0] ^ 0x01);
  co_return res;
}

// POST /logout: every kEvery-th call answers as the real handler does and ends nothing: the
// session stays live, so the cookie the user logged out of still works.
asio::awaitable<Response> ignore_logout_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  if (!is_nth_call(calls)) co_return co_await inner(ctx);
  co_return http::json_response(Status::ok, {{"logged_out", true}});
}

// POST /logout: every kEvery-th call logs out and then answers 503, as if the answer were lost on
// the way (a server killed after its write): not a defect of the server's state, but of the
// network. The user's retry finds its login over; the ledger must not count that as a loss.
asio::awaitable<Response> lose_logout_answer_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  auto res = co_await inner(ctx);
  if (res.result() != Status::ok || !is_nth_call(calls)) co_return res;
  auto lost = http::json_error(Status::service_unavailable, "unavailable", "the answer was lost");
  lost.set(http::bhttp::field::retry_after, "1");
  co_return lost;
}

// POST /token/refresh: every kEvery-th call refuses the refresh token as the real route refuses a
// reused one, though the client used it once: a family revoked for nothing.
asio::awaitable<Response> refuse_refresh_sometimes(Handler inner, CallCount calls, RequestContext& ctx) {
  if (!is_nth_call(calls)) co_return co_await inner(ctx);
  co_return http::json_error(Status::unauthorized, "invalid_grant", "the refresh token is not valid");
}

// GET /recommendations: always 503 with Retry-After, the answer of a server whose dependency is
// down for good: retriable, so the user retries until it gives up.
asio::awaitable<Response> always_unavailable() {
  auto res = http::json_error(Status::service_unavailable, "unavailable", "recommendations are down; retry shortly");
  res.set(http::bhttp::field::retry_after, "1");
  co_return res;
}

using Decorator = std::function<Handler(Handler)>;

Decorator counting(asio::awaitable<Response> (*breaks)(Handler, CallCount, RequestContext&)) {
  return [breaks](Handler inner) -> Handler {
    auto calls = std::make_shared<std::atomic<std::uint64_t>>(0);
    return [breaks, inner, calls](RequestContext& ctx) { return breaks(inner, calls, ctx); };
  };
}

Decorator every_call(asio::awaitable<Response> (*breaks)(Handler, RequestContext&)) {
  return [breaks](Handler inner) -> Handler {
    return [breaks, inner](RequestContext& ctx) { return breaks(inner, ctx); };
  };
}

struct Defect {
  char const* name;
  verb method;
  char const* pattern;
  Decorator decorate;
};

std::vector<Defect> defects() {
  Decorator unavailable = [](Handler) -> Handler { return [](RequestContext&) { return always_unavailable(); }; };
  return {
      {"unexpected-logout", verb::get, "/me", counting(log_out_sometimes)},
      {"lost-cart-line", verb::post, "/cart/items", counting(lose_cart_line_sometimes)},
      {"checkout-empties-cart", verb::post, "/checkout", counting(empty_cart_at_checkout_sometimes)},
      {"duplicated-cart-line", verb::post, "/cart/items", counting(duplicate_cart_line_sometimes)},
      {"cart-line-listed-twice", verb::get, "/cart", every_call(list_a_cart_line_twice)},
      {"duplicate-order", verb::get, "/orders", every_call(list_an_order_twice)},
      {"unplaced-order", verb::get, "/orders", every_call(list_an_unplaced_order)},
      {"order-line-twice", verb::get, "/orders", every_call(list_a_line_in_two_orders)},
      {"lost-order", verb::get, "/orders", every_call(leave_out_newest_order)},
      {"upload-mismatch", verb::get, "/uploads/{id}", counting(corrupt_download_sometimes)},
      {"failed-retryable", verb::get, "/recommendations", unavailable},
      {"logout-ignored", verb::post, "/logout", counting(ignore_logout_sometimes)},
      {"refresh-refused", verb::post, "/token/refresh", counting(refuse_refresh_sometimes)},
      {"logout-answer-lost", verb::post, "/logout", counting(lose_logout_answer_sometimes)},
  };
}

}  // namespace

std::optional<DefectHook> defect_named(std::string_view name) {
  for (auto& d : defects()) {
    if (name != d.name) continue;
    return DefectHook([d](runtime::Router& router) {
      if (!router.wrap(d.method, d.pattern, d.decorate)) {
        throw std::logic_error(std::string("defect ") + d.name + ": the shop has no route " +
                               std::string(http::bhttp::to_string(d.method)) + " " + d.pattern);
      }
    });
  }
  return std::nullopt;
}

std::vector<std::string> defect_names() {
  std::vector<std::string> out;
  for (auto const& d : defects()) out.emplace_back(d.name);
  return out;
}

}  // namespace outboard::testing
