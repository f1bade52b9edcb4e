#include "state/postgres/pg_jobs_sql.hpp"

namespace outboard::state {
namespace {

// Migration 2: the job queue (pg_job_queue.cpp), in the store's own database, beside its keyspace
// (migration 1, whose functions it uses to write fence keys).
//
// A job is a row of outboard_jobs, as in the sqlite queue: state 0 waiting, 1 running, 2 done,
// 3 dead; times are ms since the epoch by the DATABASE's clock (outboard_now_ms(), i.e.
// clock_timestamp()), so every server agrees on when a lease has run out.
//
// Claim (outboard_job_claim): one statement, one transaction. It first sends the running jobs of
// the types whose lease ran out with no attempts left to the dead letters, then picks the
// earliest claimable row (waiting and due, or running with its lease run out) with
// FOR UPDATE SKIP LOCKED, so concurrent claimers never wait on each other nor take the same row,
// bumps its fence and writes the fence key (state::fence_key(id)) into the keyspace under that
// key's advisory lock, exactly as a Store call would. The store's commit_if takes the same lock
// and reads the same row, so a handler whose claim was superseded can no longer commit.
//
// Locks: a job's row lock is always taken before its fence key's advisory lock (claim, complete,
// drop_dead), and keyspace writers hold advisory locks only: no cycle, so no deadlock.
//
// A done row past done_ttl reads as gone (the reads filter) and is deleted by the next enqueue
// of its id, or a few at a time by any enqueue.
constexpr char const* kJobs = R"sql(
CREATE TABLE outboard_jobs(
  id bytea PRIMARY KEY,
  type bytea NOT NULL,
  key bytea NOT NULL,
  payload bytea NOT NULL,
  state smallint NOT NULL,
  attempts integer NOT NULL,
  max_attempts integer NOT NULL,
  fence bigint NOT NULL,
  last_error bytea NOT NULL,
  run_at bigint NOT NULL,
  lease_until bigint NOT NULL,
  worker bytea NOT NULL,
  finished_at bigint NOT NULL);
CREATE INDEX outboard_jobs_waiting ON outboard_jobs(type, run_at, id) WHERE state = 0;
CREATE INDEX outboard_jobs_running ON outboard_jobs(type, lease_until) WHERE state = 1;
CREATE INDEX outboard_jobs_done ON outboard_jobs(finished_at) WHERE state = 2;
CREATE INDEX outboard_jobs_dead ON outboard_jobs(finished_at, id) WHERE state = 3;

-- state::fence_key(id): 'job:{' || id || '}:fence'.
CREATE FUNCTION outboard_job_fence_key(job bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT decode('6a6f623a7b', 'hex') || job || decode('7d3a66656e6365', 'hex') $$;

-- The fence a new job of this id starts from: what a forgotten job of the same id left in its
-- fence key (0 when none, or not a decimal number), so fences keep growing per id.
CREATE FUNCTION outboard_job_left_fence(job bytea, now bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v bytea; t text;
BEGIN
  SELECT value INTO v FROM outboard_entries
   WHERE key = outboard_job_fence_key(job) AND type = 1 AND (expires_at IS NULL OR expires_at > now);
  IF v IS NULL THEN RETURN 0; END IF;
  t := encode(v, 'escape');
  IF t !~ '^-?[0-9]{1,18}$' THEN RETURN 0; END IF;
  RETURN t::bigint;
END $$;

-- A finished job's fence key outlives it by done_ttl, then expires like any key.
CREATE FUNCTION outboard_job_expire_fence(job bytea, ttl bigint, now bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE fk bytea := outboard_job_fence_key(job);
BEGIN
  PERFORM pg_advisory_xact_lock(outboard_lock_id(fk));
  IF outboard_live_type(fk, now) IS NOT NULL THEN
    UPDATE outboard_entries SET expires_at = now + ttl WHERE key = fk;
  END IF;
END $$;

-- true: a new job; false: the id is known (a duplicate; nothing changed).
CREATE FUNCTION outboard_job_enqueue(job bytea, jtype bytea, jkey bytea, jpayload bytea, delay bigint,
                                     tries bigint, done_ttl bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE now bigint := outboard_now_ms(); inserted boolean;
BEGIN
  DELETE FROM outboard_jobs WHERE id = job AND state = 2 AND finished_at + done_ttl <= now;
  DELETE FROM outboard_jobs WHERE id IN (
    SELECT id FROM outboard_jobs WHERE state = 2 AND finished_at <= now - done_ttl
     ORDER BY finished_at LIMIT 8 FOR UPDATE SKIP LOCKED);
  INSERT INTO outboard_jobs(id, type, key, payload, state, attempts, max_attempts, fence, last_error,
                            run_at, lease_until, worker, finished_at)
  VALUES (job, jtype, jkey, jpayload, 0, 0, tries, outboard_job_left_fence(job, now), ''::bytea,
          now + delay, 0, ''::bytea, 0)
  ON CONFLICT (id) DO NOTHING
  RETURNING true INTO inserted;
  RETURN coalesce(inserted, false);
END $$;

-- One row (the claim) or none. Ties on run_at go by id, bytewise.
CREATE FUNCTION outboard_job_claim(types bytea[], who bytea, lease bigint)
RETURNS TABLE(c_id bytea, c_type bytea, c_key bytea, c_payload bytea, c_fence bigint,
              c_attempt bigint, c_max_attempts bigint, c_last_error bytea)
LANGUAGE plpgsql AS $$
DECLARE now bigint := outboard_now_ms(); picked bytea; fk bytea;
BEGIN
  UPDATE outboard_jobs SET state = 3, last_error = convert_to('lease expired', 'SQL_ASCII'),
         lease_until = 0, finished_at = now
   WHERE id IN (SELECT j.id FROM outboard_jobs j
                 WHERE j.state = 1 AND j.type = ANY(types) AND j.lease_until < now
                   AND j.attempts >= j.max_attempts
                   FOR UPDATE SKIP LOCKED);
  SELECT j.id INTO picked FROM outboard_jobs j
   WHERE j.type = ANY(types)
     AND ((j.state = 0 AND j.run_at <= now)
          OR (j.state = 1 AND j.lease_until < now AND j.attempts < j.max_attempts))
   ORDER BY j.run_at, j.id LIMIT 1
   FOR UPDATE SKIP LOCKED;
  IF picked IS NULL THEN RETURN; END IF;
  UPDATE outboard_jobs j SET state = 1, attempts = j.attempts + 1, fence = j.fence + 1,
         lease_until = now + lease, worker = who
   WHERE j.id = picked
   RETURNING j.id, j.type, j.key, j.payload, j.fence, j.attempts, j.max_attempts, j.last_error
   INTO c_id, c_type, c_key, c_payload, c_fence, c_attempt, c_max_attempts, c_last_error;
  fk := outboard_job_fence_key(c_id);
  PERFORM pg_advisory_xact_lock(outboard_lock_id(fk));
  PERFORM outboard_set_key(fk, convert_to(c_fence::text, 'SQL_ASCII'), NULL, now);
  RETURN NEXT;
END $$;

-- renew, complete, fail: false (nothing changed) unless `f` is the job's latest running claim.
CREATE FUNCTION outboard_job_renew(job bytea, f bigint, lease bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE outboard_jobs SET lease_until = outboard_now_ms() + lease WHERE id = job AND state = 1 AND fence = f;
  RETURN FOUND;
END $$;

CREATE FUNCTION outboard_job_complete(job bytea, f bigint, done_ttl bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE now bigint := outboard_now_ms();
BEGIN
  UPDATE outboard_jobs SET state = 2, lease_until = 0, finished_at = now
   WHERE id = job AND state = 1 AND fence = f;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM outboard_job_expire_fence(job, done_ttl, now);
  RETURN true;
END $$;

-- retry_in NULL: never retried (dead at once). Every SET expression reads the row as it was.
CREATE FUNCTION outboard_job_fail(job bytea, f bigint, err bytea, retry_in bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE now bigint := outboard_now_ms();
BEGIN
  UPDATE outboard_jobs SET last_error = err, lease_until = 0,
         state = CASE WHEN retry_in IS NULL OR attempts >= max_attempts THEN 3 ELSE 0 END,
         run_at = CASE WHEN retry_in IS NULL OR attempts >= max_attempts THEN run_at ELSE now + retry_in END,
         finished_at = CASE WHEN retry_in IS NULL OR attempts >= max_attempts THEN now ELSE finished_at END
   WHERE id = job AND state = 1 AND fence = f;
  RETURN FOUND;
END $$;

CREATE FUNCTION outboard_job_retry_dead(job bytea) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE outboard_jobs SET state = 0, attempts = 0, run_at = outboard_now_ms(), lease_until = 0
   WHERE id = job AND state = 3;
  RETURN FOUND;
END $$;

-- The fence key stays for done_ttl, so a new job of the same id within it continues the fences.
CREATE FUNCTION outboard_job_drop_dead(job bytea, done_ttl bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM outboard_jobs WHERE id = job AND state = 3;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM outboard_job_expire_fence(job, done_ttl, outboard_now_ms());
  RETURN true;
END $$;
)sql";

}  // namespace

char const* jobs_migration_sql() { return kJobs; }

}  // namespace outboard::state
