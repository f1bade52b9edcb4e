#include "support/shop_client.hpp"

#include <nlohmann/json.hpp>

#include <random>

namespace outboard::testing {

std::string item(std::string const& sku, int qty) { return nlohmann::json{{"sku", sku}, {"qty", qty}}.dump(); }

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(byte(gen));
  return out;
}

}  // namespace outboard::testing
