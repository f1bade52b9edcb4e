#pragma once
// postgres://'s room feed: across hosts, in the store's own database. Appends are rows of
// outboard_feed_entries (migration 3, pg_feed_sql.cpp), one statement each on the worker thread's
// own asynchronous connection; each append NOTIFYs "outboard_feed" in its transaction. Each
// process's reader, a thread of its own with one blocking libpq connection that LISTENs, hears
// every room's appends in commit order, fetches the watched rooms' entries and hands them to the
// sink. Delivery latency: one notification plus one query; no polling.
#include <memory>

#include "state/feed.hpp"
#include "state/store_url.hpp"

namespace outboard::state {

// Runs the schema migrations (blocking, start-up only; throws std::runtime_error naming the URL
// without its password when the database cannot be reached or is newer than this build).
std::unique_ptr<FeedProvider> make_postgres_feed(StoreUrl const& url, StoreOptions const& store,
                                                 FeedOptions const& options);

}  // namespace outboard::state
