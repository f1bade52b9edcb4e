#include "shop/catalog.hpp"

#include <array>

namespace outboard::shop {
namespace {
constexpr std::array<Product, 10> kProducts{{
    {"sku-001", "Outboard motor, 2.5 hp", 49900},
    {"sku-002", "Propeller, aluminium", 8900},
    {"sku-003", "Fuel tank, 12 l", 5900},
    {"sku-004", "Kill-switch lanyard", 1490},
    {"sku-005", "Spark plug", 690},
    {"sku-006", "Gear oil, 250 ml", 1290},
    {"sku-007", "Anode kit", 3490},
    {"sku-008", "Motor cover", 4590},
    {"sku-009", "Tiller extension", 2990},
    {"sku-010", "Flushing muffs", 1990},
}};
}  // namespace

std::span<Product const> catalog() { return kProducts; }

Product const* find_product(std::string_view sku) {
  for (auto const& p : kProducts) {
    if (p.sku == sku) return &p;
  }
  return nullptr;
}

}  // namespace outboard::shop
