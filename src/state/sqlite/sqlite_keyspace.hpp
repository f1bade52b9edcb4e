#pragma once
// The Store operations as plain synchronous functions over one sqlite connection: what a call
// reads and writes, with no executors involved. SqliteStore runs them on its thread pool.
//
// Every read-modify-write runs in one BEGIN IMMEDIATE transaction, so it is atomic across
// threads and processes sharing the file. Reads are a single SELECT each (a consistent snapshot
// on its own, without taking the write lock). Expiry is judged by the clock given here, never the
// system clock; an expired key reads as absent and is deleted when an operation touches it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/sqlite/sqlite_db.hpp"
#include "state/store.hpp"

namespace outboard::state {

class SqliteKeyspace {
 public:
  // The clock must outlive the keyspace; it is read from pool threads (Clock is thread-safe).
  explicit SqliteKeyspace(core::Clock const& clock) : clock_(clock) {}

  // Reads the schema table: proves the file is there and readable.
  Result<void> ping(SqliteConnection& c) const;
  Result<std::optional<std::string>> get(SqliteConnection& c, std::string const& key) const;
  Result<void> set(SqliteConnection& c, std::string const& key, std::string const& value,
                   std::optional<Millis> ttl) const;
  Result<bool> set_if_absent(SqliteConnection& c, std::string const& key,
                             std::string const& value, std::optional<Millis> ttl) const;
  Result<bool> del(SqliteConnection& c, std::string const& key) const;
  Result<bool> expire(SqliteConnection& c, std::string const& key, Millis ttl) const;
  Result<std::int64_t> pttl(SqliteConnection& c, std::string const& key) const;
  Result<bool> compare_and_set(SqliteConnection& c, std::string const& key,
                               std::optional<std::string> const& expected,
                               std::string const& desired, std::optional<Millis> ttl) const;
  Result<std::int64_t> incr_by(SqliteConnection& c, std::string const& key,
                               std::int64_t delta) const;
  Result<std::optional<std::string>> hget(SqliteConnection& c, std::string const& key,
                                          std::string const& field) const;
  Result<FieldMap> hgetall(SqliteConnection& c, std::string const& key) const;
  Result<void> hset(SqliteConnection& c, std::string const& key, Fields const& fields,
                    std::optional<Millis> ttl) const;
  Result<std::int64_t> hdel(SqliteConnection& c, std::string const& key,
                            std::vector<std::string> const& fields) const;
  Result<std::int64_t> list_push(SqliteConnection& c, std::string const& key,
                                 std::string const& value) const;
  Result<std::vector<std::string>> list_range(SqliteConnection& c, std::string const& key) const;
  // Store::commit_if in one write transaction: types checked, then conditions, then writes.
  Result<bool> commit_if(SqliteConnection& c, std::vector<Condition> const& conditions,
                         std::vector<Write> const& writes) const;

  // For the other tables of the same file (the job queue writes a claim's fence in the claim's
  // own transaction): get, set and expire at `now`, inside a write transaction the caller holds.
  Result<std::optional<std::string>> get_within(SqliteConnection& c, std::string const& key,
                                                std::int64_t now) const;
  Result<void> set_within(SqliteConnection& c, std::string const& key, std::string const& value,
                          std::optional<Millis> ttl, std::int64_t now) const;
  Result<bool> expire_within(SqliteConnection& c, std::string const& key, Millis ttl, std::int64_t now) const;

  // Deletes up to `limit` expired keys nobody touched again (sessions never resumed); returns
  // how many. One write transaction; cost O(limit log n).
  Result<std::int64_t> sweep(SqliteConnection& c, std::int64_t limit) const;

 private:
  core::Clock const& clock_;
};

}  // namespace outboard::state
