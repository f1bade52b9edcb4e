#pragma once
// The reference shop's routes (see ../shared/BRIEF.md): the workload every other part of
// outboard is tested with, and the example to copy.
#include <chrono>
#include <cstddef>

#include "runtime/router.hpp"

namespace outboard::shop {

struct ShopConfig {
  std::size_t max_upload_bytes = 16 << 20;
  std::int64_t max_qty = 100;
  std::size_t min_password_length = 8;  // sign-up refuses shorter passwords (400)
  std::chrono::milliseconds recommendations_ttl{60'000};
  // How long computing recommendations takes: deliberately slow, so the cache shows.
  std::chrono::milliseconds recommendations_cost{20};
};

runtime::Router make_router(ShopConfig const& config = {});

}  // namespace outboard::shop
