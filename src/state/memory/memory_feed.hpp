#pragma once
// memory://'s room feed: in this process only, like the memory store. Other processes never hear
// of an append: the `stateful` design the lab shows losing messages.
#include <memory>

#include "state/feed.hpp"

namespace outboard::state {

// Throws std::invalid_argument without StoreOptions::clock (expiry is judged by it).
std::unique_ptr<FeedProvider> make_memory_feed(StoreOptions const& store, FeedOptions const& options);

}  // namespace outboard::state
