#pragma once
// The on-disk layout of the sqlite backend and the per-connection settings. Start-up only: both
// functions throw std::runtime_error naming the file when it cannot be used.
#include "state/sqlite/sqlite_db.hpp"

namespace outboard::state {

// Kinds of value a key can hold; stored in entries.type. Counters are strings, as in Redis.
enum class EntryType : std::int64_t { string = 1, hash = 2, list = 3 };

// Puts the file in WAL mode and creates the tables if they do not exist. Safe to run from several
// processes at once: the schema is written inside one BEGIN IMMEDIATE transaction.
void create_schema(SqliteConnection& connection);

// The job queue's table and indexes (sqlite_job_queue.cpp), beside the store's in the same file.
// Throws std::runtime_error naming the file when it cannot create them.
void create_job_schema(SqliteConnection& connection);

// Settings that are per connection rather than stored in the file (synchronous). Every
// connection, including the one given to create_schema, goes through this.
void configure_connection(SqliteConnection& connection);

}  // namespace outboard::state
