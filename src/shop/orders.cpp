#include "shop/orders.hpp"

#include <algorithm>

#include "http/json_text.hpp"
#include "shop/catalog.hpp"

namespace outboard::shop {
namespace {

// nlohmann::json converts to almost anything, Error included: say which side of the Result.
core::Result<nlohmann::json> ok(nlohmann::json value) {
  return core::Result<nlohmann::json>(boost::system::in_place_value, std::move(value));
}

// Parses stored JSON values and sorts them by a timestamp field, oldest first.
core::Result<nlohmann::json> sorted_values(state::FieldMap const& fields, char const* time_field) {
  nlohmann::json out = nlohmann::json::array();
  for (auto const& [id, text] : fields) {
    auto v = nlohmann::json::parse(text, nullptr, false);
    if (v.is_discarded() || !v.is_object()) {
      return core::make_error(core::Errc::internal, "damaged record '" + id + "'");
    }
    out.push_back(std::move(v));
  }
  std::stable_sort(out.begin(), out.end(), [time_field](auto const& a, auto const& b) {
    return a.value(time_field, std::int64_t{0}) < b.value(time_field, std::int64_t{0});
  });
  return ok(std::move(out));
}

std::int64_t total_of(nlohmann::json const& lines) {
  std::int64_t total = 0;
  for (auto const& line : lines) total += line.value("price_cents", std::int64_t{0}) * line.value("qty", std::int64_t{0});
  return total;
}

}  // namespace

state::Async<std::string> Orders::add_line(std::string line_id, std::string sku, std::int64_t qty,
                                            std::int64_t now_ms) {
  Product const* product = find_product(sku);
  if (!product) co_return core::make_error(core::Errc::invalid, "unknown sku '" + sku + "'");
  // Written out, not built as a json object and printed (a hot path: POST /cart/items): the text
  // nlohmann would print, keys sorted as its objects keep them.
  std::string text = R"({"added_ms":)" + std::to_string(now_ms) + R"(,"line_id":)";
  http::append_json_string(text, line_id);
  text += R"(,"name":)";
  http::append_json_string(text, product->name);
  text += R"(,"price_cents":)" + std::to_string(product->price_cents) + R"(,"qty":)" + std::to_string(qty) +
          R"(,"sku":)";
  http::append_json_string(text, sku);
  text += '}';
  state::Fields fields;
  fields.emplace_back(line_id, text);
  if (auto r = co_await store_.hset(cart_key(), std::move(fields)); !r) co_return r.error();
  co_return std::move(text);
}

state::Async<nlohmann::json> Orders::cart() {
  auto fields = co_await store_.hgetall(cart_key());
  if (!fields) co_return fields.error();
  auto lines = sorted_values(*fields, "added_ms");
  if (!lines) co_return lines.error();
  std::int64_t total = total_of(*lines);
  nlohmann::json cart{{"lines", std::move(*lines)}, {"total_cents", total}};
  co_return ok(std::move(cart));
}

state::Async<std::optional<nlohmann::json>> Orders::checkout(std::string order_id, std::int64_t now_ms) {
  // A few rounds: a concurrent add between our read and our commit changes the cart's size and
  // makes the commit refuse; then we read again and include the new line.
  for (int round = 0; round < 5; ++round) {
    auto existing = co_await store_.hget(orders_key(), order_id);
    if (!existing) co_return existing.error();
    if (*existing) {
      auto order = nlohmann::json::parse(**existing, nullptr, false);
      if (order.is_discarded()) co_return core::make_error(core::Errc::internal, "damaged order " + order_id);
      co_return std::optional<nlohmann::json>{std::move(order)};
    }
    auto fields = co_await store_.hgetall(cart_key());
    if (!fields) co_return fields.error();
    if (fields->empty()) co_return std::optional<nlohmann::json>{};
    auto lines = sorted_values(*fields, "added_ms");
    if (!lines) co_return lines.error();
    nlohmann::json order{{"order_id", order_id}, {"lines", *lines}, {"total_cents", total_of(*lines)},
                         {"created_ms", now_ms}};
    // The guard: none of the lines read has gone into another order meanwhile, and the cart
    // has no other line. Lines leave a cart only through a checkout, which records them in
    // ordered:{user}; so "same size, and none of these lines ordered" means "the same cart",
    // even if another checkout emptied it and new adds refilled it to the same size (ABA).
    std::vector<state::Condition> guard;
    guard.push_back(state::Condition::hash_len(cart_key(), static_cast<std::int64_t>(fields->size())));
    guard.push_back(state::Condition::field_absent(orders_key(), order_id));
    for (auto const& [line_id, text] : *fields) guard.push_back(state::Condition::field_absent(ordered_key(), line_id));
    std::vector<state::Write> writes;
    writes.push_back(state::Write::hset(orders_key(), order_id, order.dump()));
    for (auto const& [line_id, text] : *fields) writes.push_back(state::Write::hset(ordered_key(), line_id, order_id));
    writes.push_back(state::Write::del(cart_key()));
    auto committed = co_await store_.commit_if(std::move(guard), std::move(writes));
    if (!committed) co_return committed.error();
    if (*committed) co_return std::optional<nlohmann::json>{std::move(order)};
  }
  co_return core::make_error(core::Errc::conflict, "the cart kept changing during checkout; retry");
}

state::Async<std::optional<nlohmann::json>> Orders::find(std::string order_id) {
  auto text = co_await store_.hget(orders_key(), order_id);
  if (!text) co_return text.error();
  if (!*text) co_return std::optional<nlohmann::json>{};
  auto order = nlohmann::json::parse(**text, nullptr, false);
  if (order.is_discarded()) co_return core::make_error(core::Errc::internal, "damaged order " + order_id);
  co_return std::optional<nlohmann::json>{std::move(order)};
}

state::Async<nlohmann::json> Orders::list() {
  auto fields = co_await store_.hgetall(orders_key());
  if (!fields) co_return fields.error();
  auto orders = sorted_values(*fields, "created_ms");
  if (!orders) co_return orders.error();
  nlohmann::json list{{"orders", std::move(*orders)}};
  co_return ok(std::move(list));
}

}  // namespace outboard::shop
