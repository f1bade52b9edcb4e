#pragma once
// The SQL text of the room feed's migrations (pg_feed_sql.cpp), listed by migrations().

namespace outboard::state {

// Migration 3: the feed's tables and its append function (pg_feed.cpp).
char const* feed_migration_sql();
// Migration 4: the append function again, locking the room's row before it touches its entries
// (a deadlock with another append's sweep, in migration 3's).
char const* feed_append_lock_migration_sql();

// The channel every append NOTIFYs, with the payload "<room as hex>:<seq>".
inline constexpr char const* kFeedChannel = "outboard_feed";

}  // namespace outboard::state
