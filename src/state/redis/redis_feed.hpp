#pragma once
// redis://'s room feed: across hosts. Per room, under one hash tag so a Cluster keeps it on one
// slot: rt:{ROOM}:seq (the counter), rt:{ROOM}:log (a stream of the last `history` entries, id
// "<seq>-0"), rt:{ROOM}:dd:<key> (a dedupe key -> seq). An append is one Lua script that also
// PUBLISHes "<seq>:<body>" on channel rt:ROOM; each process's reader (redis_feed_reader.hpp) is
// subscribed to the channels of its watched rooms.
#include <memory>

#include "state/feed.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Does not connect: each worker thread's feed connects on first use, the reader on start().
std::unique_ptr<FeedProvider> make_redis_feed(StoreUrl const& url, StoreOptions const& store, FeedOptions const& options);

}  // namespace outboard::state
