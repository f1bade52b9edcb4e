#pragma once
// sqlite://PATH's room feed: across the processes of one host. Appends are rows in the store's
// file (sqlite_feed_log.hpp); each process's reader, a thread of its own, polls every
// FeedOptions::poll_interval for rows it has not seen, one query for all rooms, and hands the
// watched rooms' entries to the sink. Delivery latency: poll_interval / 2 on average, at most
// poll_interval plus one query.
#include <memory>
#include <string>

#include "state/feed.hpp"

namespace outboard::state {

// Opens (creating if needed) the file, the store's schema and the feed's tables; throws
// std::runtime_error naming the path if it cannot, std::invalid_argument without a clock.
std::unique_ptr<FeedProvider> make_sqlite_feed(std::string const& path, StoreOptions const& store,
                                               FeedOptions const& options);

}  // namespace outboard::state
