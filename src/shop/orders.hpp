#pragma once
// Carts and orders in the data store, keyed so one user's keys share a Redis Cluster slot:
//   cart:{user}    hash  line id -> line JSON   (a line id comes from the Idempotency-Key, so
//                                               writing the same line twice changes nothing)
//   orders:{user}  hash  order id -> order JSON
//   ordered:{user} hash  line id -> order id     (which order took each line)
// Checkout turns the cart into an order and empties it in one atomic commit_if, guarded by the
// cart's size, by none of its lines being in an order yet, and by the order id being new: a
// concurrent add, a concurrent checkout or a second run of the same checkout can neither lose a
// line nor put one in two orders.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "state/store.hpp"

namespace outboard::shop {

class Orders {
 public:
  Orders(state::Store& store, std::string user) : store_(store), user_(std::move(user)) {}

  // The stored line (sku, qty, line_id, added_ms), as the JSON text stored (so that a caller
  // answering with it does not print it again). Errc::invalid for an unknown sku.
  state::Async<std::string> add_line(std::string line_id, std::string sku, std::int64_t qty, std::int64_t now_ms);
  // {"lines": [...oldest first], "total_cents": n}
  state::Async<nlohmann::json> cart();
  // The order made from the cart under `order_id`; the existing one if that id was used
  // already; nullopt when the cart is empty.
  state::Async<std::optional<nlohmann::json>> checkout(std::string order_id, std::int64_t now_ms);
  // One order, or nullopt.
  state::Async<std::optional<nlohmann::json>> find(std::string order_id);
  // {"orders": [...oldest first]}
  state::Async<nlohmann::json> list();

 private:
  std::string cart_key() const { return "cart:{" + user_ + "}"; }
  std::string orders_key() const { return "orders:{" + user_ + "}"; }
  std::string ordered_key() const { return "ordered:{" + user_ + "}"; }
  state::Store& store_;
  std::string user_;
};

}  // namespace outboard::shop
