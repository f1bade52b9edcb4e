#include "state/postgres/pg_feed_sql.hpp"
#include "state/postgres/pg_jobs_sql.hpp"
#include "state/postgres/pg_migrations.hpp"

namespace outboard::state {
namespace {

// Migration 1: the keyspace, as the sqlite backend lays it out (sqlite_schema.cpp), plus one
// server-side function per Store operation, so that every call is one statement, one round trip
// and one transaction of its own.
//
// Layout: outboard_entries says which keys exist, their type and expiry; hash fields and list
// items hang off their key (ON DELETE CASCADE: deleting the entry deletes them). Keys, fields and
// values are bytea, so any bytes round-trip and compare bytewise.
//   type: 1 string (value), 2 hash, 3 list (length = item count = last seq).
//   expires_at: ms since the epoch by the DATABASE's clock (clock_timestamp()), so every server
//   agrees on what has expired; NULL = never.
//
// Concurrency: every writer first takes a transaction-scoped advisory lock on each key it reads
// or writes (a 64-bit hash of the key; commit_if takes them in lock-id order, so two transactions
// never wait on each other in a cycle), then reads and writes under READ COMMITTED: each statement
// after the lock sees what the previous holder committed. This serializes check-then-write per
// key across every process, including for keys that do not exist yet (which a row lock cannot
// cover). Reads take no lock: one SELECT is one consistent snapshot.
//
// Expired keys read as absent (every read filters) and are deleted lazily by whoever meets them.
// Errors a caller made (wrong type, not an integer) are raised with SQLSTATE OBWRT and OBINT,
// which the client maps to Errc::invalid.
constexpr char const* kKeyspace = R"sql(
CREATE TABLE outboard_entries(
  key bytea PRIMARY KEY,
  type smallint NOT NULL,
  value bytea,
  length bigint,
  expires_at bigint);
CREATE INDEX outboard_entries_by_expiry ON outboard_entries(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE outboard_hash_fields(
  key bytea NOT NULL REFERENCES outboard_entries(key) ON DELETE CASCADE,
  field bytea NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY(key, field));
CREATE TABLE outboard_list_items(
  key bytea NOT NULL REFERENCES outboard_entries(key) ON DELETE CASCADE,
  seq bigint NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY(key, seq));

CREATE FUNCTION outboard_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

CREATE FUNCTION outboard_deadline(ttl bigint, now bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN ttl IS NULL THEN NULL ELSE now + ttl END $$;

CREATE FUNCTION outboard_lock_id(k bytea) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || left(md5(k), 16))::bit(64)::bigint $$;

CREATE FUNCTION outboard_wrong_type(k bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'key ''%'' holds another type', encode(k, 'escape') USING ERRCODE = 'OBWRT';
END $$;

-- The live type of k (NULL: absent), deleting it first if it has expired. Caller holds k's lock.
CREATE FUNCTION outboard_live_type(k bytea, now bigint) RETURNS smallint LANGUAGE plpgsql AS $$
DECLARE t smallint; e bigint;
BEGIN
  SELECT type, expires_at INTO t, e FROM outboard_entries WHERE key = k;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF e IS NOT NULL AND e <= now THEN
    DELETE FROM outboard_entries WHERE key = k;
    RETURN NULL;
  END IF;
  RETURN t;
END $$;

-- A reader met an expired key: delete it unless someone rewrote it since (the WHERE is
-- re-checked on the newest row version).
CREATE FUNCTION outboard_purge(k bytea, now bigint) RETURNS void LANGUAGE sql AS
$$ DELETE FROM outboard_entries WHERE key = k AND expires_at <= now $$;

CREATE FUNCTION outboard_set_key(k bytea, v bytea, ttl bigint, now bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE t smallint := outboard_live_type(k, now);
BEGIN
  IF t IS NOT NULL AND t <> 1 THEN DELETE FROM outboard_entries WHERE key = k; END IF;
  INSERT INTO outboard_entries(key, type, value, length, expires_at)
  VALUES (k, 1, v, NULL, outboard_deadline(ttl, now))
  ON CONFLICT (key) DO UPDATE SET type = 1, value = excluded.value, length = NULL,
                                  expires_at = excluded.expires_at;
END $$;

CREATE FUNCTION outboard_del_key(k bytea, now bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF outboard_live_type(k, now) IS NULL THEN RETURN false; END IF;
  DELETE FROM outboard_entries WHERE key = k;
  RETURN true;
END $$;

CREATE FUNCTION outboard_hset_key(k bytea, fs bytea[], vs bytea[], ttl bigint, now bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE t smallint := outboard_live_type(k, now);
BEGIN
  IF t IS NOT NULL THEN
    IF t <> 2 THEN PERFORM outboard_wrong_type(k); END IF;
    -- Without a ttl the key keeps the TTL it has.
    IF ttl IS NOT NULL THEN
      UPDATE outboard_entries SET expires_at = outboard_deadline(ttl, now) WHERE key = k;
    END IF;
  ELSE
    IF coalesce(cardinality(fs), 0) = 0 THEN RETURN; END IF;  -- a hash without fields does not exist
    INSERT INTO outboard_entries(key, type, expires_at) VALUES (k, 2, outboard_deadline(ttl, now));
  END IF;
  FOR i IN 1 .. coalesce(cardinality(fs), 0) LOOP
    INSERT INTO outboard_hash_fields(key, field, value) VALUES (k, fs[i], vs[i])
    ON CONFLICT (key, field) DO UPDATE SET value = excluded.value;
  END LOOP;
END $$;

CREATE FUNCTION outboard_push_key(k bytea, v bytea, ttl bigint, now bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE t smallint := outboard_live_type(k, now); n bigint;
BEGIN
  IF t IS NOT NULL AND t <> 3 THEN PERFORM outboard_wrong_type(k); END IF;
  IF t IS NULL THEN
    n := 1;
    INSERT INTO outboard_entries(key, type, length, expires_at) VALUES (k, 3, 1, outboard_deadline(ttl, now));
  ELSE
    UPDATE outboard_entries SET length = length + 1,
           expires_at = CASE WHEN ttl IS NULL THEN expires_at ELSE outboard_deadline(ttl, now) END
     WHERE key = k RETURNING length INTO n;
  END IF;
  INSERT INTO outboard_list_items(key, seq, value) VALUES (k, n, v);
  RETURN n;
END $$;

-- --- the Store operations: each one statement from the client ---

CREATE FUNCTION outboard_get(k bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE t smallint; v bytea; e bigint; now bigint := outboard_now_ms();
BEGIN
  SELECT type, value, expires_at INTO t, v, e FROM outboard_entries WHERE key = k;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF e IS NOT NULL AND e <= now THEN PERFORM outboard_purge(k, now); RETURN NULL; END IF;
  IF t <> 1 THEN PERFORM outboard_wrong_type(k); END IF;
  RETURN v;
END $$;

CREATE FUNCTION outboard_set(k bytea, v bytea, ttl bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  PERFORM outboard_set_key(k, v, ttl, outboard_now_ms());
END $$;

CREATE FUNCTION outboard_set_if_absent(k bytea, v bytea, ttl bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE now bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  now := outboard_now_ms();
  IF outboard_live_type(k, now) IS NOT NULL THEN RETURN false; END IF;
  INSERT INTO outboard_entries(key, type, value, expires_at) VALUES (k, 1, v, outboard_deadline(ttl, now));
  RETURN true;
END $$;

CREATE FUNCTION outboard_del(k bytea) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  RETURN outboard_del_key(k, outboard_now_ms());
END $$;

CREATE FUNCTION outboard_expire(k bytea, ttl bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE now bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  now := outboard_now_ms();
  IF outboard_live_type(k, now) IS NULL THEN RETURN false; END IF;
  UPDATE outboard_entries SET expires_at = now + ttl WHERE key = k;
  RETURN true;
END $$;

CREATE FUNCTION outboard_pttl(k bytea) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE e bigint; now bigint := outboard_now_ms();
BEGIN
  SELECT expires_at INTO e FROM outboard_entries WHERE key = k;
  IF NOT FOUND THEN RETURN -2; END IF;
  IF e IS NULL THEN RETURN -1; END IF;
  IF e <= now THEN PERFORM outboard_purge(k, now); RETURN -2; END IF;
  RETURN e - now;
END $$;

CREATE FUNCTION outboard_compare_and_set(k bytea, expected bytea, desired bytea, ttl bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE now bigint; t smallint; current bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  now := outboard_now_ms();
  t := outboard_live_type(k, now);
  IF t IS NULL THEN
    IF expected IS NOT NULL THEN RETURN false; END IF;
  ELSE
    IF t <> 1 THEN PERFORM outboard_wrong_type(k); END IF;
    SELECT value INTO current FROM outboard_entries WHERE key = k;
    IF expected IS NULL OR current <> expected THEN RETURN false; END IF;
  END IF;
  PERFORM outboard_set_key(k, desired, ttl, now);
  RETURN true;
END $$;

CREATE FUNCTION outboard_incr_by(k bytea, delta bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE now bigint; t smallint; current bytea; n bigint := 0; text_value text;
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  now := outboard_now_ms();
  t := outboard_live_type(k, now);
  IF t IS NOT NULL THEN
    IF t <> 1 THEN PERFORM outboard_wrong_type(k); END IF;
    SELECT value INTO current FROM outboard_entries WHERE key = k;
    text_value := encode(current, 'escape');
    IF text_value !~ '^-?[0-9]{1,19}$' THEN
      RAISE EXCEPTION 'key ''%'' is not an integer', encode(k, 'escape') USING ERRCODE = 'OBINT';
    END IF;
    BEGIN
      n := text_value::bigint;
    EXCEPTION WHEN numeric_value_out_of_range THEN
      RAISE EXCEPTION 'key ''%'' is not an integer', encode(k, 'escape') USING ERRCODE = 'OBINT';
    END;
  END IF;
  BEGIN
    n := n + delta;
  EXCEPTION WHEN numeric_value_out_of_range THEN
    RAISE EXCEPTION 'incrementing key ''%'' would overflow', encode(k, 'escape') USING ERRCODE = 'OBINT';
  END;
  -- An existing key keeps its TTL: only the value changes.
  IF t IS NULL THEN
    INSERT INTO outboard_entries(key, type, value) VALUES (k, 1, convert_to(n::text, 'SQL_ASCII'));
  ELSE
    UPDATE outboard_entries SET value = convert_to(n::text, 'SQL_ASCII') WHERE key = k;
  END IF;
  RETURN n;
END $$;

CREATE FUNCTION outboard_hget(k bytea, f bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE t smallint; e bigint; v bytea; now bigint := outboard_now_ms();
BEGIN
  SELECT en.type, en.expires_at, h.value INTO t, e, v
    FROM outboard_entries en LEFT JOIN outboard_hash_fields h ON h.key = en.key AND h.field = f
   WHERE en.key = k;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF e IS NOT NULL AND e <= now THEN PERFORM outboard_purge(k, now); RETURN NULL; END IF;
  IF t <> 2 THEN PERFORM outboard_wrong_type(k); END IF;
  RETURN v;
END $$;

-- Rows (field, value); the first row, with NULL field, is the entry's own (type): it says
-- whether the key exists and lets the client judge the type from the same snapshot.
CREATE FUNCTION outboard_hgetall(k bytea) RETURNS TABLE(field bytea, value bytea)
LANGUAGE plpgsql AS $$
DECLARE t smallint; e bigint; now bigint := outboard_now_ms();
BEGIN
  -- One statement reads entry and fields together, so type, expiry and fields agree.
  FOR field, value, t, e IN
    SELECT h.field, h.value, en.type, en.expires_at
      FROM outboard_entries en LEFT JOIN outboard_hash_fields h ON h.key = en.key
     WHERE en.key = k
  LOOP
    IF e IS NOT NULL AND e <= now THEN PERFORM outboard_purge(k, now); RETURN; END IF;
    IF t <> 2 THEN PERFORM outboard_wrong_type(k); END IF;
    IF field IS NOT NULL THEN RETURN NEXT; END IF;
  END LOOP;
END $$;

CREATE FUNCTION outboard_hset(k bytea, fs bytea[], vs bytea[], ttl bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  PERFORM outboard_hset_key(k, fs, vs, ttl, outboard_now_ms());
END $$;

CREATE FUNCTION outboard_hdel(k bytea, fs bytea[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE now bigint; t smallint; removed bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  now := outboard_now_ms();
  t := outboard_live_type(k, now);
  IF t IS NULL THEN RETURN 0; END IF;
  IF t <> 2 THEN PERFORM outboard_wrong_type(k); END IF;
  DELETE FROM outboard_hash_fields WHERE key = k AND field = ANY(fs);
  GET DIAGNOSTICS removed = ROW_COUNT;
  -- A hash left empty disappears, TTL and all.
  IF NOT EXISTS (SELECT 1 FROM outboard_hash_fields WHERE key = k) THEN
    DELETE FROM outboard_entries WHERE key = k;
  END IF;
  RETURN removed;
END $$;

CREATE FUNCTION outboard_list_push(k bytea, v bytea) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(k));
  RETURN outboard_push_key(k, v, NULL, outboard_now_ms());
END $$;

CREATE FUNCTION outboard_list_range(k bytea) RETURNS SETOF bytea LANGUAGE plpgsql AS $$
DECLARE t smallint; e bigint; item bytea; now bigint := outboard_now_ms();
BEGIN
  FOR item, t, e IN
    SELECT l.value, en.type, en.expires_at
      FROM outboard_entries en LEFT JOIN outboard_list_items l ON l.key = en.key
     WHERE en.key = k ORDER BY l.seq
  LOOP
    IF e IS NOT NULL AND e <= now THEN PERFORM outboard_purge(k, now); RETURN; END IF;
    IF t <> 3 THEN PERFORM outboard_wrong_type(k); END IF;
    IF item IS NOT NULL THEN RETURN NEXT item; END IF;
  END LOOP;
END $$;

-- Store::commit_if. Condition kinds: 0 key absent, 1 hash field absent, 2 hash length equals,
-- 3 value equals. Write kinds: 0 set, 1 hset, 2 del, 3 push. As in the other backends: (1) every
-- key's type is checked (a write's key as the earlier writes leave it), (2) the conditions are
-- judged, (3) the writes applied; a type error wins over a false condition, and any error rolls
-- the whole statement back.
CREATE FUNCTION outboard_commit_if(ckinds int[], ckeys bytea[], cfields bytea[], ccounts bigint[],
                                   wkinds int[], wkeys bytea[], wfields bytea[], wvalues bytea[],
                                   wttls bigint[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  now bigint; holds boolean := true; t smallint; lock_id bigint; current bytea; n bigint;
  shape_keys bytea[] := '{}'; shapes smallint[] := '{}'; at int;
BEGIN
  FOR lock_id IN SELECT DISTINCT outboard_lock_id(x) AS id
                   FROM unnest(coalesce(ckeys, '{}') || coalesce(wkeys, '{}')) x ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(lock_id);
  END LOOP;
  now := outboard_now_ms();

  FOR i IN 1 .. coalesce(cardinality(ckinds), 0) LOOP
    t := outboard_live_type(ckeys[i], now);
    IF ckinds[i] = 0 THEN
      holds := holds AND t IS NULL;
    ELSIF ckinds[i] = 3 THEN
      -- Any type may be asked: a hash or a list simply is not the value (a fence check).
      IF holds THEN
        IF t IS DISTINCT FROM 1 THEN
          holds := false;
        ELSE
          SELECT value INTO current FROM outboard_entries WHERE key = ckeys[i];
          holds := current = cfields[i];
        END IF;
      END IF;
    ELSE
      IF t IS NOT NULL AND t <> 2 THEN PERFORM outboard_wrong_type(ckeys[i]); END IF;
      IF holds THEN
        IF ckinds[i] = 1 THEN
          holds := NOT EXISTS (SELECT 1 FROM outboard_hash_fields WHERE key = ckeys[i] AND field = cfields[i]);
        ELSE
          SELECT count(*) INTO n FROM outboard_hash_fields WHERE key = ckeys[i];
          holds := n = ccounts[i];
        END IF;
      END IF;
    END IF;
  END LOOP;

  -- The writes' type check, on shapes each write updates (a set makes a string, a del nothing,
  -- a ttl <= 0 expires on arrival).
  FOR i IN 1 .. coalesce(cardinality(wkinds), 0) LOOP
    at := array_position(shape_keys, wkeys[i]);
    IF at IS NULL THEN
      shape_keys := shape_keys || wkeys[i];
      shapes := shapes || outboard_live_type(wkeys[i], now);
      at := cardinality(shape_keys);
    END IF;
    t := shapes[at];
    IF wkinds[i] = 1 AND t IS NOT NULL AND t <> 2 THEN PERFORM outboard_wrong_type(wkeys[i]); END IF;
    IF wkinds[i] = 3 AND t IS NOT NULL AND t <> 3 THEN PERFORM outboard_wrong_type(wkeys[i]); END IF;
    IF wkinds[i] = 2 OR (wttls[i] IS NOT NULL AND wttls[i] <= 0) THEN
      shapes[at] := NULL;
    ELSE
      shapes[at] := CASE wkinds[i] WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 3 END;
    END IF;
  END LOOP;
  IF NOT holds THEN RETURN false; END IF;

  FOR i IN 1 .. coalesce(cardinality(wkinds), 0) LOOP
    IF wkinds[i] = 0 THEN
      PERFORM outboard_set_key(wkeys[i], wvalues[i], wttls[i], now);
    ELSIF wkinds[i] = 1 THEN
      PERFORM outboard_hset_key(wkeys[i], ARRAY[wfields[i]], ARRAY[wvalues[i]], wttls[i], now);
    ELSIF wkinds[i] = 2 THEN
      PERFORM outboard_del_key(wkeys[i], now);
    ELSE
      PERFORM outboard_push_key(wkeys[i], wvalues[i], wttls[i], now);
    END IF;
  END LOOP;
  RETURN true;
END $$;
)sql";

}  // namespace

std::vector<Migration> const& migrations() {
  // Append only: a migration a database has applied is never edited (pg_migrations.hpp).
  static std::vector<Migration> const all{{1, "keyspace", kKeyspace}, {2, "jobs", jobs_migration_sql()},
                                          {3, "feeds", feed_migration_sql()},
                                          {4, "feed_append_locks_the_room", feed_append_lock_migration_sql()}};
  return all;
}

}  // namespace outboard::state
