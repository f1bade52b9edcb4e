#pragma once
// redis://host:port/N: the production backend. Redis speaks RESP through hiredis's reader on our
// own Asio socket: one pipelined connection per worker thread, shared by all its coroutines.
#include <memory>

#include "state/store.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Does not connect: each worker thread's store connects on first use and reconnects with backoff.
std::unique_ptr<StoreProvider> make_redis_provider(StoreUrl const& url, StoreOptions const& options);

}  // namespace outboard::state
