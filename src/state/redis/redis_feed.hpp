#pragma once
// redis://'s room feed: across hosts. Per room, under one hash tag so a Cluster keeps it on one
// slot: rt:{ROOM}:seq (the counter), rt:{ROOM}:log (a stream of the last `history` entries, id
// "<seq>-0"), rt:{ROOM}:dd:<key> (a dedupe key -> seq). An append is one Lua script that also
// PUBLISHes "<seq>:<body>" on channel rt:ROOM; each process's reader (redis_feed_reader.hpp) is
// subscribed to the channels of its watched rooms.
#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "state/feed.hpp"
#include "state/redis/redis_connection.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

class RedisRouter;

// Makes one worker thread's router (redis_router.hpp), bound to its executor.
using RouterFactory = std::function<std::shared_ptr<RedisRouter>(boost::asio::any_io_executor)>;

// The feed over any router: each worker thread's appends and reads go through `router_for`'s
// router; the process's reader subscribes on one of `reader_nodes` at a time (the next one each
// time its link drops: in a Redis Cluster a PUBLISH on any node reaches subscribers on all).
// `backend` is what backend() answers (a literal).
std::unique_ptr<FeedProvider> make_routed_redis_feed(RouterFactory router_for, std::vector<RedisEndpoint> reader_nodes,
                                                     FeedOptions const& options, std::string_view backend);

// Does not connect: each worker thread's feed connects on first use, the reader on start().
std::unique_ptr<FeedProvider> make_redis_feed(StoreUrl const& url, StoreOptions const& store, FeedOptions const& options);

}  // namespace outboard::state
