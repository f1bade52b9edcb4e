#pragma once
// Request bodies the shop-route tests send.
#include <cstddef>
#include <cstdint>
#include <string>

namespace outboard::testing {

// A cart item as POST /cart takes it: {"sku": ..., "qty": ...}.
std::string item(std::string const& sku, int qty);

// `n` bytes, the same for the same seed: an upload whose content the test can check.
std::string random_bytes(std::size_t n, std::uint32_t seed);

}  // namespace outboard::testing
