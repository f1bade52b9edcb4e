#pragma once
// The shop's fixed catalogue: enough for carts and orders to have prices to add up.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace outboard::shop {

struct Product {
  std::string_view sku;
  std::string_view name;
  std::int64_t price_cents;
};

std::span<Product const> catalog();
Product const* find_product(std::string_view sku);

}  // namespace outboard::shop
