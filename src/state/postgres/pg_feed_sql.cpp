#include "state/postgres/pg_feed_sql.hpp"

#include <string>
#include <string_view>

namespace outboard::state {
namespace {

// Migration 3: room feeds (pg_feed.cpp), laid out as the sqlite feed's (sqlite_feed_log.hpp):
//   outboard_feed_rooms(room, last_seq, expires_at): the counter; the room's log and counter are
//     alive while expires_at (the database's clock, ms) is in the future: history_ttl after the
//     last append.
//   outboard_feed_entries(room, seq, body): the log, at most `history` rows per room.
//   outboard_feed_dedupe(room, key, seq, expires_at): dedupe keys, each alive for dedupe_ttl.
//
// An append is one statement: under an advisory lock per room (the same lock-id function as the
// keyspace, on "feed:" || room, so appends to one room are serialized across every process and a
// room without a row yet is covered too) it checks the dedupe key, counts the seq, inserts, trims
// and NOTIFYs outboard_feed with "<room hex>:<seq>". PostgreSQL delivers a notification only when
// its transaction commits, in commit order, to every listening session: each process's reader
// then fetches the entry by (room, seq). Every append also sweeps a few expired rooms and keys.
constexpr char const* kFeedTables = R"sql(
CREATE TABLE outboard_feed_rooms(
  room bytea PRIMARY KEY,
  last_seq bigint NOT NULL,
  expires_at bigint NOT NULL);
CREATE INDEX outboard_feed_rooms_by_expiry ON outboard_feed_rooms(expires_at);
CREATE TABLE outboard_feed_entries(
  room bytea NOT NULL,
  seq bigint NOT NULL,
  body bytea NOT NULL,
  PRIMARY KEY(room, seq));
CREATE TABLE outboard_feed_dedupe(
  room bytea NOT NULL,
  key bytea NOT NULL,
  seq bigint NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY(room, key));
CREATE INDEX outboard_feed_dedupe_by_expiry ON outboard_feed_dedupe(expires_at);

-- Deletes up to `lim` expired rooms (their entries first) and `lim` expired dedupe keys.
CREATE FUNCTION outboard_feed_sweep(now bigint, lim bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE gone bytea[];
BEGIN
  SELECT array_agg(room) INTO gone FROM (
    SELECT room FROM outboard_feed_rooms WHERE expires_at <= now
     ORDER BY expires_at LIMIT lim FOR UPDATE SKIP LOCKED) expired;
  IF gone IS NOT NULL THEN
    DELETE FROM outboard_feed_entries WHERE room = ANY(gone);
    DELETE FROM outboard_feed_rooms WHERE room = ANY(gone) AND expires_at <= now;
  END IF;
  DELETE FROM outboard_feed_dedupe WHERE (room, key) IN (
    SELECT room, key FROM outboard_feed_dedupe WHERE expires_at <= now LIMIT lim FOR UPDATE SKIP LOCKED);
END $$;
)sql";

// The append function, from its start to the read of the room's row, and from there to its end.
// Migration 3 created it; migration 4 replaces it, locking that row (see kRoomRowLocked).
constexpr char const* kAppendStart = R"sql(
-- keep = false (the pubsub design): no dedupe, and read_after shows no entries, but the row is
-- still written (trimmed to `history`): it is what the readers fetch when notified.
__VERB__ FUNCTION outboard_feed_append(r bytea, b bytea, dk bytea, history bigint, history_ttl bigint,
                                     dedupe_ttl bigint, keep boolean)
RETURNS TABLE(a_seq bigint, a_duplicate boolean) LANGUAGE plpgsql AS $$
DECLARE now bigint; last bigint; expires bigint; s bigint; dedupe boolean := keep AND length(dk) > 0;
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(convert_to('feed:', 'SQL_ASCII') || r));
  now := outboard_now_ms();
  IF dedupe THEN
    SELECT d.seq INTO s FROM outboard_feed_dedupe d WHERE d.room = r AND d.key = dk AND d.expires_at > now;
    IF FOUND THEN
      a_seq := s; a_duplicate := true; RETURN NEXT; RETURN;
    END IF;
  END IF;
)sql";
constexpr char const* kAppendEnd = R"sql(
  IF NOT FOUND THEN
    last := 0;
  ELSIF expires <= now THEN
    -- An expired room starts afresh: its old entries go first, so new seqs cannot collide.
    DELETE FROM outboard_feed_entries WHERE room = r;
    last := 0;
  END IF;
  s := last + 1;
  INSERT INTO outboard_feed_rooms(room, last_seq, expires_at) VALUES (r, s, now + history_ttl)
  ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq, expires_at = excluded.expires_at;
  INSERT INTO outboard_feed_entries(room, seq, body) VALUES (r, s, b);
  IF s > history THEN DELETE FROM outboard_feed_entries WHERE room = r AND seq <= s - history; END IF;
  IF dedupe THEN
    INSERT INTO outboard_feed_dedupe(room, key, seq, expires_at) VALUES (r, dk, s, now + dedupe_ttl)
    ON CONFLICT (room, key) DO UPDATE SET seq = excluded.seq, expires_at = excluded.expires_at;
  END IF;
  PERFORM outboard_feed_sweep(now, 4);
  PERFORM pg_notify('outboard_feed', encode(r, 'hex') || ':' || s);
  a_seq := s; a_duplicate := false; RETURN NEXT;
END $$;
)sql";

constexpr char const* kRoomRowRead =
    "  SELECT f.last_seq, f.expires_at INTO last, expires FROM outboard_feed_rooms f WHERE f.room = r;\n";
// FOR UPDATE before touching the room's entries: another append's sweep (SKIP LOCKED) then passes
// this room by. Migration 3 locked the row only at the upsert, so a sweep could lock it first and
// wait for the entries this append was deleting, while this append waited for the row: a deadlock,
// which PostgreSQL broke by failing one of the two appends.
constexpr char const* kRoomRowLocked =
    "  SELECT f.last_seq, f.expires_at INTO last, expires FROM outboard_feed_rooms f WHERE f.room = r FOR UPDATE;\n";

std::string append_function(std::string_view verb, char const* room_row) {
  std::string start = kAppendStart;
  start.replace(start.find("__VERB__"), 8, verb);
  return start + room_row + kAppendEnd;
}

}  // namespace

char const* feed_migration_sql() {
  static std::string const sql = std::string(kFeedTables) + append_function("CREATE", kRoomRowRead);
  return sql.c_str();
}

char const* feed_append_lock_migration_sql() {
  static std::string const sql = append_function("CREATE OR REPLACE", kRoomRowLocked);
  return sql.c_str();
}

}  // namespace outboard::state
