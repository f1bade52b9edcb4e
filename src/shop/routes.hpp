#pragma once
// The reference shop's routes (see ../shared/BRIEF.md): the workload every other part of
// outboard is tested with, and the example to copy.
#include "runtime/router.hpp"

namespace outboard::shop {

runtime::Router make_router();

}  // namespace outboard::shop
