// `outboard serve` as a black box, the shop part: cart, checkout, orders, uploads and
// recommendations with their good and bad inputs, Idempotency-Key handling (required, checked,
// replayed, 422 on another body), request ids, /metrics and X-Served-By, against a real process
// on each local backend (memory://, sqlite://). Every rejected request is followed by a look at
// the state it must not have changed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/serve_client.hpp"
#include "support/serve_process.hpp"
#include "support/shop_client.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

constexpr int kShopMaxBody = 4096;
constexpr int kMaxUpload = 256 * 1024;

// Files in the blob directory (temp files included): what a rejected upload must not add to.
std::set<std::string> blob_files(std::filesystem::path const& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto const& entry : std::filesystem::directory_iterator(dir, ec)) out.insert(entry.path().filename().string());
  return out;
}

class ShopRoutes : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ServeOptions options;
    options.name = "shop";
    options.state = GetParam() == "memory" ? std::string("memory://") : "sqlite://" + (data_ / "state.db").string();
    options.extra_args = {"--max-body-bytes", std::to_string(kShopMaxBody), "--max-upload-bytes",
                          std::to_string(kMaxUpload)};
    options.env = env_;
    serve_ = std::make_unique<ServeProcess>(options);
  }

  // The same server again, with these OUTBOARD_* settings.
  void restart_with(std::map<std::string, std::string> env) {
    serve_.reset();
    env_ = std::move(env);
    SetUp();
  }

  // One series' value on /metrics ("" when absent).
  std::string metric(HttpClient& c, std::string const& series) {
    std::string text = call(c, "GET", "/metrics").body;
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    auto start = at + series.size() + 2;
    return text.substr(start, text.find('\n', start) - start);
  }

  // Sends through `client`, and checks the one header every response must carry.
  HttpResponse call(HttpClient& client, std::string_view method, std::string_view target,
                    std::string_view body = {}, HeaderList const& headers = {}) {
    auto res = client.request(method, target, body, headers);
    EXPECT_EQ(res.header("X-Served-By"), serve_->instance())
        << method << " " << target << " -> " << res.status << " without the right X-Served-By";
    return res;
  }

  // A browser logged in as `user` (signed up first).
  HttpClient user(std::string const& name) {
    HttpClient c(serve_->port());
    auto up = call(c, "POST", "/signup", credentials_json(name, kPassword));
    EXPECT_EQ(up.status, 201) << up.body;
    auto in = call(c, "POST", "/login", credentials_json(name, kPassword));
    EXPECT_EQ(in.status, 200) << in.body;
    return c;
  }

  HttpResponse add(HttpClient& c, std::string const& key, std::string const& body) {
    return call(c, "POST", "/cart/items", body, {{"Idempotency-Key", key}});
  }
  HttpResponse checkout(HttpClient& c, std::string const& key) {
    return call(c, "POST", "/checkout", "", {{"Idempotency-Key", key}});
  }
  HttpResponse upload(HttpClient& c, std::string const& bytes, std::string const& type = "application/octet-stream") {
    return call(c, "POST", "/uploads", bytes, {{"Content-Type", type}});
  }

  nlohmann::json cart(HttpClient& c) {
    auto res = call(c, "GET", "/cart");
    EXPECT_EQ(res.status, 200) << res.body;
    auto body = res.json();
    EXPECT_TRUE(body.is_object() && body.contains("lines") && body["lines"].is_array()) << res.body;
    return body;
  }
  nlohmann::json orders(HttpClient& c) {
    auto res = call(c, "GET", "/orders");
    EXPECT_EQ(res.status, 200) << res.body;
    auto body = res.json();
    EXPECT_TRUE(body.is_object() && body.contains("orders") && body["orders"].is_array()) << res.body;
    return body.is_object() ? body.value("orders", nlohmann::json::array()) : nlohmann::json::array();
  }
  std::size_t cart_lines(HttpClient& c) {
    auto body = cart(c);
    return body.is_object() ? body.value("lines", nlohmann::json::array()).size() : 0;
  }

  TempDir data_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<ServeProcess> serve_;
};

// ---- catalogue ---------------------------------------------------------------------------

// GET /products needs no login; every product it lists is one the cart accepts.
TEST_P(ShopRoutes, ProductsListTheCatalogueWithoutLogin) {
  HttpClient anon(serve_->port());
  auto res = call(anon, "GET", "/products");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(res.header("Content-Type").value_or("").starts_with("application/json"));
  auto products = res.json().value("products", nlohmann::json::array());
  ASSERT_EQ(products.size(), 10u) << res.body;
  std::set<std::string> skus;
  for (auto const& p : products) {
    ASSERT_TRUE(p.is_object()) << p;
    EXPECT_TRUE(p["name"].is_string() && !p["name"].get<std::string>().empty()) << p;
    EXPECT_TRUE(p["price_cents"].is_number_integer() && p["price_cents"].get<std::int64_t>() > 0) << p;
    skus.insert(p.value("sku", ""));
  }
  EXPECT_EQ(skus.size(), 10u) << "skus are unique";
  EXPECT_TRUE(skus.count("sku-001") && skus.count("sku-010")) << res.body;

  auto ada = user("ada");
  int n = 0;
  for (auto const& sku : skus) {
    EXPECT_EQ(add(ada, "product-" + std::to_string(n++), item(sku, 1)).status, 201) << sku;
  }
  EXPECT_EQ(cart_lines(ada), skus.size());
  expect_json_error(call(anon, "POST", "/products", "{}"), 405);
}

// ---- login -------------------------------------------------------------------------------

TEST_P(ShopRoutes, EveryShopRouteWithoutSessionIs401) {
  HttpClient anon(serve_->port());
  auto before = blob_files(serve_->blobs_dir());
  expect_json_error(call(anon, "GET", "/cart"), 401, "unauthorized");
  expect_json_error(call(anon, "GET", "/orders"), 401, "unauthorized");
  expect_json_error(call(anon, "GET", "/recommendations"), 401, "unauthorized");
  expect_json_error(call(anon, "GET", "/uploads/AAAAAAAAAAAAAAAAAAAAAAAA"), 401, "unauthorized");
  expect_json_error(call(anon, "POST", "/uploads", "some bytes", {{"Content-Type", "application/octet-stream"}}), 401,
                    "unauthorized");
  expect_json_error(add(anon, "anon-add-1", item("sku-001", 1)), 401, "unauthorized");
  expect_json_error(checkout(anon, "anon-checkout-1"), 401, "unauthorized");
  EXPECT_EQ(blob_files(serve_->blobs_dir()), before) << "an anonymous upload left a file behind";

  // A real user who later uses those keys is not affected by the anonymous attempts.
  auto ada = user("ada");
  EXPECT_EQ(add(ada, "anon-add-1", item("sku-001", 1)).status, 201);
  EXPECT_EQ(checkout(ada, "anon-checkout-1").status, 201);
}

// Login is checked before anything about the request: an anonymous client learns nothing about
// the Idempotency-Key rules, and is told to log in rather than to fix a header.
TEST_P(ShopRoutes, IdempotentRoutesAnswer401BeforeCheckingTheKey) {
  HttpClient anon(serve_->port());
  for (auto const* route : {"/cart/items", "/checkout"}) {
    SCOPED_TRACE(route);
    std::string body = std::string(route) == "/cart/items" ? item("sku-001", 1) : "";
    expect_json_error(call(anon, "POST", route, body), 401, "unauthorized");
    expect_json_error(call(anon, "POST", route, body, {{"Idempotency-Key", "has space"}}), 401, "unauthorized");
  }
}

// ---- cart --------------------------------------------------------------------------------

TEST_P(ShopRoutes, AddToCartReturnsTheLineAndGetCartShowsIt) {
  auto c = user("ada");
  auto empty = cart(c);
  EXPECT_EQ(empty["lines"].size(), 0u) << empty;
  EXPECT_EQ(empty.value("total_cents", -1), 0) << empty;

  auto res = add(c, "add-1", item("sku-001", 2));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_TRUE(res.header("Content-Type").value_or("").starts_with("application/json"));
  EXPECT_FALSE(res.header("Idempotent-Replayed")) << "a first answer is not a replay";
  auto line = res.json().value("line", nlohmann::json());
  ASSERT_TRUE(line.is_object()) << res.body;
  EXPECT_FALSE(line.value("line_id", "").empty()) << res.body;
  EXPECT_EQ(line.value("sku", ""), "sku-001");
  EXPECT_EQ(line.value("name", ""), "Outboard motor, 2.5 hp");
  EXPECT_EQ(line.value("qty", 0), 2);
  EXPECT_EQ(line.value("price_cents", 0), 49900);
  EXPECT_GT(line.value("added_ms", std::int64_t{0}), 0);
  EXPECT_EQ(line.size(), 6u) << "a line has these six fields and no other: " << line;

  // The boundaries of qty are inclusive.
  auto second = add(c, "add-2", item("sku-005", 100));
  ASSERT_EQ(second.status, 201) << second.body;
  auto third = add(c, "add-3", item("sku-010", 1));
  ASSERT_EQ(third.status, 201) << third.body;

  auto now = cart(c);
  ASSERT_EQ(now["lines"].size(), 3u) << now;
  std::map<std::string, nlohmann::json> by_id;
  for (auto const& l : now["lines"]) by_id[l.value("line_id", "")] = l;
  EXPECT_EQ(by_id[line.value("line_id", "")], line) << "GET /cart must show the line POST answered";
  EXPECT_EQ(by_id[second.json()["line"].value("line_id", "")], second.json()["line"]);
  EXPECT_EQ(by_id[third.json()["line"].value("line_id", "")], third.json()["line"]);
  EXPECT_EQ(now.value("total_cents", -1), 2 * 49900 + 100 * 690 + 1990) << now;

  // Carts are per user.
  auto bob = user("bob");
  EXPECT_EQ(cart_lines(bob), 0u);
}

TEST_P(ShopRoutes, CartAddWithMalformedJsonIs400AndAddsNothing) {
  auto c = user("ada");
  int n = 0;
  for (std::string body : {"{", "not json", R"({"sku":"sku-001","qty":1)", R"(["sku-001",1])", "\"sku-001\"", "null",
                           "", "1", R"({"sku":"sku-001","qty":1}{})"}) {
    SCOPED_TRACE("body '" + body + "'");
    expect_json_error(add(c, "malformed-" + std::to_string(n++), body), 400);
  }
  EXPECT_EQ(cart_lines(c), 0u);
}

TEST_P(ShopRoutes, CartAddWithNonJsonContentTypeIs400) {
  auto c = user("ada");
  expect_json_error(call(c, "POST", "/cart/items", item("sku-001", 1),
                         {{"Idempotency-Key", "text-plain"}, {"Content-Type", "text/plain"}}),
                    400);
  EXPECT_EQ(cart_lines(c), 0u);
}

TEST_P(ShopRoutes, CartAddWithMissingOrMistypedFieldsIs400AndAddsNothing) {
  auto c = user("ada");
  int n = 0;
  for (std::string body : {R"({})", R"({"sku":"sku-001"})", R"({"qty":1})", R"({"SKU":"sku-001","QTY":1})",
                           R"({"sku":"sku-001","qty":"2"})", R"({"sku":"sku-001","qty":2.5})",
                           R"({"sku":"sku-001","qty":null})", R"({"sku":"sku-001","qty":true})",
                           R"({"sku":"sku-001","qty":[2]})", R"({"sku":"sku-001","qty":{"n":2}})",
                           R"({"sku":"sku-001","qty":2.0})", R"({"sku":5,"qty":1})", R"({"sku":null,"qty":1})",
                           R"({"sku":["sku-001"],"qty":1})", R"({"sku":{"id":"sku-001"},"qty":1})",
                           R"({"sku":true,"qty":1})", R"({"sku":"","qty":1})"}) {
    SCOPED_TRACE("body " + body);
    expect_json_error(add(c, "fields-" + std::to_string(n++), body), 400, "invalid");
  }
  EXPECT_EQ(cart_lines(c), 0u);
}

TEST_P(ShopRoutes, CartAddWithQuantityOutOfRangeIs400AndAddsNothing) {
  auto c = user("ada");
  int n = 0;
  for (std::string qty : {"-1", "0", "-0", "101", "1000", "1e30", "1e400", "-1e30", "18446744073709551615",
                          "18446744073709551616", "9223372036854775807", "-9223372036854775808",
                          "4294967297", "99999999999999999999999999"}) {
    SCOPED_TRACE("qty " + qty);
    std::string body = R"({"sku":"sku-001","qty":)" + qty + "}";
    expect_json_error(add(c, "qty-" + std::to_string(n++), body), 400);
  }
  EXPECT_EQ(cart_lines(c), 0u);
  auto after = cart(c);
  EXPECT_EQ(after.value("total_cents", -1), 0) << after;
}

TEST_P(ShopRoutes, CartAddWithUnknownSkuIs400AndAddsNothing) {
  auto c = user("ada");
  ASSERT_EQ(add(c, "known", item("sku-002", 1)).status, 201);
  auto before = cart(c);
  int n = 0;
  for (std::string sku : {"sku-000", "sku-011", "SKU-001", "sku-001 ", " sku-001", "sku-1", "sku-0010", "sku-001\n",
                          "../sku-001", "sku-\u00e9"}) {
    SCOPED_TRACE("sku '" + sku + "'");
    expect_json_error(add(c, "unknown-" + std::to_string(n++), item(sku, 1)), 400, "unknown_sku");
  }
  // Too long to be a sku at all: rejected as invalid, before the catalogue is asked.
  expect_json_error(add(c, "too-long", item(std::string(65, 's'), 1)), 400);
  EXPECT_EQ(cart(c), before);
}

TEST_P(ShopRoutes, CartAddBodyOverMaxBodyBytesIs413AndAddsNothing) {
  auto c = user("ada");
  // Valid JSON, just too big: the size limit answers, not the JSON parser.
  std::string big = R"({"sku":"sku-001","qty":1,"pad":")" + std::string(kShopMaxBody, 'x') + R"("})";
  auto res = add(c, "big-1", big);
  expect_json_error(res, 413);
  EXPECT_EQ(cart_lines(c), 0u);
  // The rejected request did not use up its key: the same key works for a good request.
  auto good = add(c, "big-1", item("sku-001", 1));
  EXPECT_EQ(good.status, 201) << good.body;
  EXPECT_FALSE(good.header("Idempotent-Replayed"));
  EXPECT_EQ(cart_lines(c), 1u);
}

// ---- Idempotency-Key ---------------------------------------------------------------------

TEST_P(ShopRoutes, MissingIdempotencyKeyIs400AndChangesNothing) {
  auto c = user("ada");
  expect_json_error(call(c, "POST", "/cart/items", item("sku-001", 1)), 400, "idempotency_key_required");
  expect_json_error(call(c, "POST", "/cart/items", item("sku-001", 1), {{"Idempotency-Key", ""}}), 400);
  EXPECT_EQ(cart_lines(c), 0u);

  ASSERT_EQ(add(c, "fill", item("sku-001", 1)).status, 201);
  expect_json_error(call(c, "POST", "/checkout"), 400, "idempotency_key_required");
  EXPECT_EQ(orders(c).size(), 0u);
  EXPECT_EQ(cart_lines(c), 1u) << "a refused checkout must leave the cart alone";
}

TEST_P(ShopRoutes, BadIdempotencyKeyIs400AndChangesNothing) {
  auto c = user("ada");
  for (std::string key : {std::string("has space"), std::string(256, 'k'), std::string("tab\there"),
                          std::string("caf\xC3\xA9"), std::string("del\x7F")}) {
    SCOPED_TRACE("key '" + key.substr(0, 40) + "' (" + std::to_string(key.size()) + " bytes)");
    expect_json_error(add(c, key, item("sku-001", 1)), 400);
    expect_json_error(checkout(c, key), 400);
  }
  EXPECT_EQ(cart_lines(c), 0u);
  EXPECT_EQ(orders(c).size(), 0u);
  // 255 printable characters is the longest usable key.
  auto longest = add(c, std::string(255, 'k'), item("sku-001", 1));
  EXPECT_EQ(longest.status, 201) << longest.body;
  EXPECT_EQ(cart_lines(c), 1u);
}

TEST_P(ShopRoutes, CartAddReplayReturnsTheSameAnswerAndAddsNoSecondLine) {
  auto c = user("ada");
  auto first = add(c, "replay-add", item("sku-003", 4));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_FALSE(first.header("Idempotent-Replayed"));

  for (int i = 0; i < 3; ++i) {
    auto again = add(c, "replay-add", item("sku-003", 4));
    EXPECT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(again.body, first.body) << "a replay must carry the first answer's body byte for byte";
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_TRUE(again.header("Content-Type").value_or("").starts_with("application/json"));
  }
  auto now = cart(c);
  ASSERT_EQ(now["lines"].size(), 1u) << now;
  EXPECT_EQ(now["lines"][0], first.json()["line"]);
  EXPECT_EQ(now.value("total_cents", -1), 4 * 5900);
  // What the lab reads to show the mechanism at work.
  EXPECT_EQ(metric(c, "outboard_idempotency_requests_total{outcome=\"ran\"}"), "1");
  EXPECT_EQ(metric(c, "outboard_idempotency_requests_total{outcome=\"replayed\"}"), "3");
}

// idempotency.enabled = false (the lab's retry-unsafe design): the key is still required, but a
// second delivery runs the handler again and adds a second line.
TEST_P(ShopRoutes, WithIdempotencyDisabledARepeatedKeyAddsTheLineAgain) {
  restart_with({{"OUTBOARD_SERVE_IDEMPOTENCY_ENABLED", "false"}});
  auto c = user("ada");
  auto first = add(c, "same-key", item("sku-003", 1));
  auto second = add(c, "same-key", item("sku-003", 1));
  ASSERT_EQ(first.status, 201) << first.body;
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_FALSE(second.header("Idempotent-Replayed"));
  EXPECT_NE(first.json()["line"]["line_id"], second.json()["line"]["line_id"]);
  EXPECT_EQ(cart_lines(c), 2u);
  EXPECT_EQ(metric(c, "outboard_idempotency_requests_total{outcome=\"replayed\"}"), "0");
  EXPECT_EQ(add(c, "", item("sku-003", 1)).status, 400) << "the key is still required";
  EXPECT_NE(serve_->log().find("Idempotency-Key is ignored"), std::string::npos) << serve_->log();
}

TEST_P(ShopRoutes, SameKeyWithAnotherBodyIs422AndChangesNothing) {
  auto c = user("ada");
  auto first = add(c, "reused", item("sku-003", 4));
  ASSERT_EQ(first.status, 201) << first.body;
  auto before = cart(c);
  expect_json_error(add(c, "reused", item("sku-003", 5)), 422, "idempotency_key_reused");
  expect_json_error(add(c, "reused", item("sku-004", 4)), 422, "idempotency_key_reused");
  // Same key on another route is another request too.
  expect_json_error(checkout(c, "reused"), 422, "idempotency_key_reused");
  EXPECT_EQ(cart(c), before);
  EXPECT_EQ(orders(c).size(), 0u);
  // And the original request still replays.
  auto again = add(c, "reused", item("sku-003", 4));
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
}

// The query string is part of what was asked: same key, same body, another query is another
// request (422), and the first one still replays.
TEST_P(ShopRoutes, SameKeyWithAnotherQueryStringIs422) {
  auto c = user("ada");
  std::string body = item("sku-003", 1);
  auto first = call(c, "POST", "/cart/items?coupon=A", body, {{"Idempotency-Key", "q"}});
  ASSERT_EQ(first.status, 201) << first.body;
  expect_json_error(call(c, "POST", "/cart/items?coupon=B", body, {{"Idempotency-Key", "q"}}), 422,
                    "idempotency_key_reused");
  expect_json_error(call(c, "POST", "/cart/items", body, {{"Idempotency-Key", "q"}}), 422, "idempotency_key_reused");
  EXPECT_EQ(cart_lines(c), 1u);
  auto again = call(c, "POST", "/cart/items?coupon=A", body, {{"Idempotency-Key", "q"}});
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
}

TEST_P(ShopRoutes, IdempotencyKeysAreScopedToTheUser) {
  auto ada = user("ada");
  auto bob = user("bob");
  auto a = add(ada, "shared-key", item("sku-001", 1));
  auto b = add(bob, "shared-key", item("sku-002", 2));
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(b.status, 201) << b.body;
  EXPECT_FALSE(b.header("Idempotent-Replayed")) << "bob must not get ada's answer";
  EXPECT_EQ(b.json()["line"].value("sku", ""), "sku-002");
  EXPECT_EQ(cart_lines(ada), 1u);
  EXPECT_EQ(cart_lines(bob), 1u);
}

// ---- checkout and orders -----------------------------------------------------------------

TEST_P(ShopRoutes, CheckoutOfAnEmptyCartIs400AndMakesNoOrder) {
  auto c = user("ada");
  expect_json_error(checkout(c, "empty-1"), 400, "cart_empty");
  EXPECT_EQ(orders(c).size(), 0u);
  EXPECT_EQ(cart_lines(c), 0u);
}

TEST_P(ShopRoutes, CheckoutMakesOneOrderEmptiesTheCartAndReplays) {
  auto c = user("ada");
  ASSERT_EQ(add(c, "l1", item("sku-001", 1)).status, 201);
  ASSERT_EQ(add(c, "l2", item("sku-007", 3)).status, 201);
  auto before = cart(c);
  ASSERT_EQ(before["lines"].size(), 2u);

  auto res = checkout(c, "co-1");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_FALSE(res.header("Idempotent-Replayed"));
  auto order = res.json().value("order", nlohmann::json());
  ASSERT_TRUE(order.is_object()) << res.body;
  std::string id = order.value("order_id", "");
  EXPECT_FALSE(id.empty()) << res.body;
  EXPECT_EQ(res.header("Location"), "/orders/" + id);
  EXPECT_EQ(order.value("total_cents", -1), 49900 + 3 * 3490) << res.body;
  EXPECT_EQ(order.value("total_cents", -1), before.value("total_cents", -2));
  EXPECT_GT(order.value("created_ms", std::int64_t{0}), 0);
  ASSERT_TRUE(order["lines"].is_array());
  std::set<std::string> cart_ids, order_ids;
  for (auto const& l : before["lines"]) cart_ids.insert(l.dump());
  for (auto const& l : order["lines"]) order_ids.insert(l.dump());
  EXPECT_EQ(order_ids, cart_ids) << "the order must hold exactly the cart's lines";

  auto emptied = cart(c);
  EXPECT_EQ(emptied["lines"].size(), 0u) << emptied;
  EXPECT_EQ(emptied.value("total_cents", -1), 0);
  auto listed = orders(c);
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0], order);

  // A replay: the same order, marked, and still exactly one order.
  auto again = checkout(c, "co-1");
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.body, res.body);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.header("Location"), res.header("Location"));
  EXPECT_EQ(orders(c).size(), 1u);

  // A second checkout with a new key finds the cart empty.
  expect_json_error(checkout(c, "co-2"), 400, "cart_empty");
  listed = orders(c);
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0], order);

  // The Location (GET /orders/{id}) answers the order, to its user only.
  auto fetched = call(c, "GET", "/orders/" + id);
  EXPECT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.json().value("order", nlohmann::json()), order) << fetched.body;
  expect_json_error(call(c, "GET", "/orders/no-such-order"), 404, "not_found");

  // Orders are per user.
  auto bob = user("bob");
  EXPECT_EQ(orders(bob).size(), 0u);
  expect_json_error(call(bob, "GET", "/orders/" + id), 404, "not_found");
}

TEST_P(ShopRoutes, LinesAddedAfterACheckoutGoToTheNextOrder) {
  auto c = user("ada");
  ASSERT_EQ(add(c, "first-line", item("sku-001", 1)).status, 201);
  auto first = checkout(c, "first-order");
  ASSERT_EQ(first.status, 201) << first.body;

  // Replaying the first line's add after the checkout must not put it back in the cart.
  auto replayed = add(c, "first-line", item("sku-001", 1));
  EXPECT_EQ(replayed.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(cart_lines(c), 0u);

  ASSERT_EQ(add(c, "second-line", item("sku-002", 2)).status, 201);
  auto second = checkout(c, "second-order");
  ASSERT_EQ(second.status, 201) << second.body;
  auto order = second.json()["order"];
  EXPECT_NE(order.value("order_id", ""), first.json()["order"].value("order_id", ""));
  ASSERT_EQ(order["lines"].size(), 1u) << order;
  EXPECT_EQ(order["lines"][0].value("sku", ""), "sku-002");
  EXPECT_EQ(order.value("total_cents", -1), 2 * 8900);
  EXPECT_EQ(orders(c).size(), 2u);
}

// ---- uploads -----------------------------------------------------------------------------

TEST_P(ShopRoutes, UploadRoundTripKeepsEveryByte) {
  auto c = user("ada");
  // Larger than one 64 KiB piece of the streamed body, with every byte value in it.
  std::string bytes = random_bytes(150'001, 42);
  for (int i = 0; i < 256; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>(i);
  std::string digest = sha256_hex(bytes);

  auto res = upload(c, bytes);
  ASSERT_EQ(res.status, 201) << res.body;
  auto info = res.json();
  ASSERT_TRUE(info.is_object()) << res.body;
  std::string id = info.value("id", "");
  ASSERT_FALSE(id.empty()) << res.body;
  EXPECT_EQ(info.value("sha256", ""), digest);
  EXPECT_EQ(info.value("size", std::uint64_t{0}), bytes.size());
  EXPECT_EQ(res.header("Location"), "/uploads/" + id);

  auto got = call(c, "GET", "/uploads/" + id);
  ASSERT_EQ(got.status, 200) << got.body.substr(0, 200);
  EXPECT_EQ(got.body.size(), bytes.size());
  EXPECT_TRUE(got.body == bytes) << "downloaded bytes differ from the upload";
  EXPECT_EQ(sha256_hex(got.body), digest);
  EXPECT_EQ(got.header("X-Content-SHA256"), digest);
  EXPECT_EQ(got.header("Content-Type"), "application/octet-stream");
}

TEST_P(ShopRoutes, UploadKeepsItsContentTypeAndSmallAndEmptyBodies) {
  auto c = user("ada");
  auto text = upload(c, "hello, outboard\n", "text/plain");
  ASSERT_EQ(text.status, 201) << text.body;
  auto got = call(c, "GET", "/uploads/" + text.json().value("id", ""));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hello, outboard\n");
  EXPECT_EQ(got.header("Content-Type"), "text/plain");

  auto empty = upload(c, "");
  ASSERT_EQ(empty.status, 201) << empty.body;
  EXPECT_EQ(empty.json().value("size", std::uint64_t{99}), 0u);
  EXPECT_EQ(empty.json().value("sha256", ""), sha256_hex(""));
  auto got_empty = call(c, "GET", "/uploads/" + empty.json().value("id", ""));
  EXPECT_EQ(got_empty.status, 200);
  EXPECT_TRUE(got_empty.body.empty());
  EXPECT_EQ(got_empty.header("X-Content-SHA256"), sha256_hex(""));
  EXPECT_NE(empty.json().value("id", ""), text.json().value("id", "")) << "every upload gets its own id";
}

TEST_P(ShopRoutes, UploadAtTheLimitIsAcceptedAndOverItIs413WithNothingKept) {
  auto c = user("ada");
  std::string exact = random_bytes(kMaxUpload, 7);
  auto ok = upload(c, exact);
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.json().value("sha256", ""), sha256_hex(exact));

  auto before = blob_files(serve_->blobs_dir());
  ASSERT_FALSE(before.empty()) << "expected the accepted upload in " << serve_->blobs_dir();
  // Declared too large: refused before the body is read.
  expect_json_error(upload(c, random_bytes(kMaxUpload + 1, 8)), 413);
  EXPECT_EQ(blob_files(serve_->blobs_dir()), before) << "a refused upload left a file behind";
  // The earlier upload is untouched.
  auto got = call(c, "GET", "/uploads/" + ok.json().value("id", ""));
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == exact);
}

// Chunked: the size is unknown until the bytes arrive, so the handler has already streamed part
// of the upload into the blob store when the limit is crossed. Nothing of it may remain.
TEST_P(ShopRoutes, ChunkedUploadOverTheLimitIs413WithNothingKept) {
  auto c = user("ada");
  auto before = blob_files(serve_->blobs_dir());
  std::string cookie = std::string(kSessionCookie) + "=" + c.cookie(kSessionCookie).value_or("");

  RawConnection conn(serve_->port());
  std::string head = "POST /uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\nCookie: " + cookie + "\r\n\r\n";
  conn.send(head);
  std::string piece = random_bytes(32 * 1024, 9);
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
  bool sent_all = true;
  // Twice the limit in 32 KiB chunks; the server may stop reading (and close) once it has said 413.
  for (int i = 0; i < 2 * kMaxUpload / static_cast<int>(piece.size()) && sent_all; ++i) {
    sent_all = conn.try_send(std::string(size_line) + piece + "\r\n");
  }
  if (sent_all) conn.try_send("0\r\n\r\n");
  auto res = conn.read_response();
  expect_json_error(res, 413);
  EXPECT_EQ(res.header("X-Served-By"), serve_->instance());

  // The partial blob is removed when the handler gives up; allow the store's thread a moment.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (blob_files(serve_->blobs_dir()) != before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(blob_files(serve_->blobs_dir()), before) << "a refused chunked upload left a file behind";

  // A chunked upload under the limit works.
  RawConnection small(serve_->port());
  std::string body = "abc";
  small.send(head + "3\r\nabc\r\n0\r\n\r\n");
  auto fine = small.read_response();
  ASSERT_EQ(fine.status, 201) << fine.body;
  EXPECT_EQ(fine.json().value("sha256", ""), sha256_hex(body));
  EXPECT_EQ(call(c, "GET", "/uploads/" + fine.json().value("id", "")).body, body);
}

TEST_P(ShopRoutes, AnotherUsersUploadIs404LikeAnUnknownId) {
  auto ada = user("ada");
  auto res = upload(ada, "ada's private bytes");
  ASSERT_EQ(res.status, 201) << res.body;
  std::string id = res.json().value("id", "");

  auto bob = user("bob");
  auto theirs = call(bob, "GET", "/uploads/" + id);
  expect_json_error(theirs, 404, "not_found");
  EXPECT_EQ(theirs.body.find("ada's private bytes"), std::string::npos);
  EXPECT_FALSE(theirs.header("X-Content-SHA256"));

  for (std::string unknown : {std::string("AAAAAAAAAAAAAAAAAAAAAAAA"), std::string("nope"), std::string("..%2f..%2fetc"),
                              std::string(70, 'a'), id + "x"}) {
    SCOPED_TRACE("id '" + unknown + "'");
    expect_json_error(call(ada, "GET", "/uploads/" + unknown), 404, "not_found");
  }
  // The owner still gets it.
  EXPECT_EQ(call(ada, "GET", "/uploads/" + id).body, "ada's private bytes");
}

// ---- recommendations ---------------------------------------------------------------------

TEST_P(ShopRoutes, RecommendationsAreComputedOnceThenCached) {
  auto c = user("ada");
  auto first = call(c, "GET", "/recommendations");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json().value("cache", ""), "miss") << first.body;
  EXPECT_EQ(first.header("X-Cache"), "MISS");
  auto items = first.json().value("items", nlohmann::json());
  ASSERT_TRUE(items.is_array()) << first.body;
  EXPECT_FALSE(items.empty());
  for (auto const& i : items) {
    EXPECT_TRUE(i.value("sku", "").starts_with("sku-")) << i;
    EXPECT_GT(i.value("price_cents", 0), 0) << i;
  }

  auto second = call(c, "GET", "/recommendations");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json().value("cache", ""), "hit") << second.body;
  EXPECT_EQ(second.header("X-Cache"), "HIT");
  EXPECT_EQ(second.json().value("items", nlohmann::json()), items);

  // The cache is per user: bob's first request is a miss of his own.
  auto bob = user("bob");
  auto theirs = call(bob, "GET", "/recommendations");
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_EQ(theirs.json().value("cache", ""), "miss") << theirs.body;
  EXPECT_EQ(call(bob, "GET", "/recommendations").json().value("cache", ""), "hit");
}

// ---- methods, request ids, metrics -------------------------------------------------------

TEST_P(ShopRoutes, WrongMethodOnShopRoutesIs405WithAllow) {
  auto c = user("ada");
  struct Case {
    char const* method;
    char const* target;
    char const* allow;
  };
  for (Case const& k : {Case{"GET", "/cart/items", "POST"}, Case{"POST", "/cart", "GET"},
                        Case{"GET", "/checkout", "POST"}, Case{"DELETE", "/orders", "GET"},
                        Case{"PUT", "/uploads", "POST"}, Case{"POST", "/recommendations", "GET"}}) {
    SCOPED_TRACE(std::string(k.method) + " " + k.target);
    auto res = call(c, k.method, k.target, std::string(k.method) == "GET" ? "" : "{}");
    expect_json_error(res, 405, "method_not_allowed");
    EXPECT_EQ(res.header("Allow").value_or("(no Allow header)"), k.allow);
  }
  EXPECT_EQ(cart_lines(c), 0u);
}

TEST_P(ShopRoutes, RequestIdIsHonouredWhenSentAndGeneratedWhenNot) {
  auto c = user("ada");
  auto given = call(c, "GET", "/cart", {}, {{"X-Request-Id", "shop-test-req.42:a_b-c"}});
  EXPECT_EQ(given.status, 200);
  EXPECT_EQ(given.header("X-Request-Id"), "shop-test-req.42:a_b-c");
  auto on_error = call(c, "POST", "/cart/items", item("sku-001", 1), {{"X-Request-Id", "err-req-1"}});
  EXPECT_EQ(on_error.status, 400);
  EXPECT_EQ(on_error.header("X-Request-Id"), "err-req-1");

  auto first = call(c, "GET", "/cart");
  auto second = call(c, "GET", "/cart");
  ASSERT_TRUE(first.header("X-Request-Id")) << "a request without an id must get one";
  ASSERT_TRUE(second.header("X-Request-Id"));
  EXPECT_FALSE(first.header("X-Request-Id")->empty());
  EXPECT_NE(first.header("X-Request-Id"), second.header("X-Request-Id")) << "generated ids must differ";

  // An id that cannot be one (spaces, too long) is replaced, not echoed.
  for (std::string bad : {std::string("two words"), std::string(129, 'r'), std::string("semi;colon")}) {
    SCOPED_TRACE("X-Request-Id '" + bad.substr(0, 40) + "'");
    auto res = call(c, "GET", "/cart", {}, {{"X-Request-Id", bad}});
    auto id = res.header("X-Request-Id");
    ASSERT_TRUE(id);
    EXPECT_FALSE(id->empty());
    EXPECT_NE(*id, bad);
  }
}

TEST_P(ShopRoutes, MetricsCountShopRoutesAndStoreOperations) {
  auto c = user("ada");
  ASSERT_EQ(add(c, "metrics-1", item("sku-001", 1)).status, 201);
  ASSERT_EQ(add(c, "metrics-2", item("sku-002", 1)).status, 201);
  EXPECT_EQ(add(c, "metrics-3", item("sku-999", 1)).status, 400);

  auto res = call(c, "GET", "/metrics");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(res.header("Content-Type").value_or("").starts_with("text/plain")) << res.header("Content-Type").value_or("");
  std::string const& text = res.body;
  EXPECT_NE(text.find("# TYPE outboard_http_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("outboard_http_requests_total{route=\"/cart/items\",method=\"POST\",status=\"201\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("outboard_http_requests_total{route=\"/cart/items\",method=\"POST\",status=\"400\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE outboard_http_request_duration_seconds histogram"), std::string::npos) << text;
  EXPECT_NE(text.find("outboard_http_request_duration_seconds_bucket{route=\"/cart/items\",method=\"POST\",le=\"+Inf\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("outboard_http_request_duration_seconds_count{route=\"/cart/items\",method=\"POST\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE outboard_store_operation_duration_seconds histogram"), std::string::npos) << text;
  EXPECT_NE(text.find("outboard_store_operation_duration_seconds_bucket{"), std::string::npos) << text;
  EXPECT_NE(text.find("outboard_store_operation_duration_seconds_count{"), std::string::npos) << text;
}

// /metrics labels store operations "sessions" or "data" by the role of the store. With one --state
// for both roles (the default) the cart's writes are still data-store writes.
TEST_P(ShopRoutes, MetricsLabelCartWritesAsDataStoreOperations) {
  auto c = user("ada");
  ASSERT_EQ(add(c, "metrics-data", item("sku-001", 1)).status, 201);
  auto text = call(c, "GET", "/metrics").body;
  EXPECT_NE(text.find("outboard_store_operation_duration_seconds_count{store=\"data\",op=\"hset\"}"),
            std::string::npos)
      << text;
}

INSTANTIATE_TEST_SUITE_P(Backends, ShopRoutes, ::testing::Values("memory", "sqlite"),
                         [](::testing::TestParamInfo<std::string> const& param) { return param.param; });

}  // namespace
}  // namespace outboard::testing
