#pragma once
// Job queues: the background-jobs capability beside the store (docs/JOBS.md). A job is
// enqueued once per key, claimed by one worker at a time under a lease, and finished by
// complete() (done), fail() (retry later, or the dead-letter list). A worker that dies or stalls
// loses its lease: once it has run out, the job is claimed again by any worker.
//
// Every claim carries a FENCE: a number that only grows per job. The claim also writes it, as a
// decimal string, to the data store's key fence_key(id), so that a handler's effect can be
// committed with `Condition::equals(fence_key(id), std::to_string(fence))` beside its writes:
// a worker whose lease ran out and whose job was claimed again can no longer commit (docs/JOBS.md).
// complete(), fail() and renew() are refused (false) for a fence that is not the job's latest.
//
// Backends, chosen by the same URL as the store, and living in the store's own keyspace/file:
//   memory://  in this process only (the anti-pattern: lost on a crash, never seen by others)
//   sqlite://  across the processes of one host: a table, claimed with one conditional UPDATE;
//              the fence key is written in the same transaction
//   redis://   across hosts: one Lua script per claim / completion (claim writes the fence key
//              in the same script)
//   redis-cluster://  the job's slot holds the truth (hash + fence key, one script), the type's
//              slot an index; a claim is two steps (docs/STATE.md, "Job queues on a cluster")
//   postgres://  a table claimed with FOR UPDATE SKIP LOCKED; the fence key written in the same
//              transaction (docs/STATE.md, PostgreSQL)
#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/store.hpp"

namespace outboard::state {

// What enqueue() is given.
struct JobSpec {
  std::string type;     // the handler's name: [a-z0-9_-], 1..64 bytes
  std::string key;      // dedupe key, unique per type: 1..200 bytes
  std::string payload;  // opaque to the queue (the handler parses it), at most 64 KiB
  Millis delay{0};      // not claimable before now + delay
  int max_attempts = 5; // claims before the dead-letter list (>= 1)
};

// The job's id is "<type>:<key>": a second enqueue of the same type and key, while the job is
// waiting, running, or done within done_ttl (or dead), is the same job.
inline std::string job_id(std::string_view type, std::string_view key) {
  std::string id(type);
  id += ':';
  id += key;
  return id;
}

// The data-store key holding the job's latest fence (a decimal string). Tagged so that a Redis
// Cluster keeps it on one slot with the job's own keys.
inline std::string fence_key(std::string_view id) {
  std::string k = "job:{";
  k += id;
  k += "}:fence";
  return k;
}

struct Enqueued {
  std::string id;
  bool duplicate = false;  // the key was known: nothing changed
};

enum class JobState {
  waiting,  // ready, or delayed until run_at
  running,  // claimed; its lease ends at lease_until
  done,     // completed; remembered for done_ttl so a re-enqueue is a duplicate
  dead,     // attempts exhausted or refused for good: on the dead-letter list
};
std::string_view to_string(JobState state);

// A claim: the job as the worker must run it.
struct Claim {
  std::string id;
  std::string type;
  std::string key;
  std::string payload;
  // This claim's fence: 1 for the first claim, then 2, 3... A job enqueued again after it was
  // forgotten (dropped, or done past done_ttl) continues from the fence key it finds, which
  // complete() and drop_dead() leave in the store for done_ttl.
  std::int64_t fence = 0;
  int attempt = 0;         // 1 for the first claim
  int max_attempts = 0;
  std::string last_error;  // the previous attempt's, if any
};

// What commit_and_complete() did.
enum class CommitOutcome {
  completed,         // the conditions held: the writes are in and the job is done
  refused,           // a condition failed: nothing written, the job not completed
  written_not_held,  // the writes are in, but `fence` is not the job's latest running claim: not done
};

// What get() and dead_letters() show (operations, GET /orders/{id}, the lab).
struct JobInfo {
  std::string id;
  std::string type;
  std::string key;
  std::string payload;
  JobState state = JobState::waiting;
  int attempts = 0;           // claims so far
  int max_attempts = 0;
  std::int64_t fence = 0;     // the latest claim's fence (0: never claimed)
  std::string last_error;
  std::int64_t run_at_ms = 0;       // waiting: claimable from (store clock, ms since epoch)
  std::int64_t lease_until_ms = 0;  // running: the lease's end
  std::string worker;               // running: who holds it
};

struct JobCounts {
  std::int64_t ready = 0;    // waiting and claimable now
  std::int64_t delayed = 0;  // waiting for their run_at
  std::int64_t running = 0;  // claimed, lease live or not yet reclaimed
  std::int64_t dead = 0;
};

struct JobQueueOptions {
  Millis done_ttl{24 * 3600 * 1000};  // a done job is remembered (for dedupe) this long
  std::size_t max_payload_bytes = 64 * 1024;
};

// Per worker thread, like Store: every call is a coroutine on the caller's executor and returns
// Errc::unavailable / Errc::timeout when the backend cannot answer, Errc::invalid for a spec that
// breaks the limits above (with a reason in the error's context).
class JobQueue {
 public:
  virtual ~JobQueue() = default;
  virtual std::string_view backend() const = 0;

  virtual Async<Enqueued> enqueue(JobSpec spec) = 0;
  // Claims, for `worker`, the claimable job of one of `types` with the earliest run_at (ties: by
  // id, bytewise; a reclaimed job keeps its run_at): a
  // waiting job whose run_at has come, or a running one whose lease has run out (its worker is
  // taken for dead; the attempt counts). Increments attempts and the fence, writes the fence key,
  // sets the lease to now + lease. nullopt: nothing claimable. A running job whose lease ran out
  // and whose attempts are exhausted goes to the dead-letter list instead ("lease expired").
  virtual Async<std::optional<Claim>> claim(std::vector<std::string> types, std::string worker, Millis lease) = 0;
  // Up to `max` claims in one call (at most kMaxClaimBatch), in the order claim() would hand them
  // out one after another: fewer, or none, when fewer are claimable. A worker with several free
  // slots fills them with one round trip. Backends that claim one job per statement keep this
  // default, one claim() (at most one job); redis:// claims the batch in one script.
  static constexpr std::size_t kMaxClaimBatch = 64;
  virtual Async<std::vector<Claim>> claim_batch(std::vector<std::string> types, std::string worker, Millis lease,
                                                std::size_t max);
  // Extends the lease to now + lease; false when `fence` is not the job's latest running claim.
  virtual Async<bool> renew(std::string id, std::int64_t fence, Millis lease) = 0;
  // Done. false (nothing changed) when `fence` is not the job's latest running claim.
  virtual Async<bool> complete(std::string id, std::int64_t fence) = 0;
  // Failed with `error`: waiting again from now + retry_in, or, with retry_in nullopt or when the
  // attempts are exhausted, dead. false (nothing changed) when `fence` is not the latest claim.
  virtual Async<bool> fail(std::string id, std::int64_t fence, std::string error, std::optional<Millis> retry_in) = 0;

  // A handler's effect and the job's completion as ONE atomic step: the data store's
  // commit_if(conditions, writes) and, when it wrote, complete(id, fence). One round trip instead
  // of two, and no moment where the effect is in and the job is still running. Only where
  // commits_and_completes(): redis:// (the queue lives on the data store's server) without a
  // near-cache or WAIT, which the Store's own commit_if must see to; elsewhere Errc::invalid,
  // and the caller takes the two steps.
  virtual bool commits_and_completes() const { return false; }
  virtual Async<CommitOutcome> commit_and_complete(std::string id, std::int64_t fence,
                                                   std::vector<Condition> conditions, std::vector<Write> writes);

  // --- operations ---
  virtual Async<std::optional<JobInfo>> get(std::string id) = 0;
  virtual Async<JobCounts> counts() = 0;
  // The dead-letter list, oldest death first, at most `limit`.
  virtual Async<std::vector<JobInfo>> dead_letters(std::size_t limit) = 0;
  // A dead job back to waiting, claimable now, with its attempts reset; false if not dead.
  virtual Async<bool> retry_dead(std::string id) = 0;
  // A dead job forgotten (a later enqueue of its key is a new job); false if not dead.
  virtual Async<bool> drop_dead(std::string id) = 0;
};

// One per process and URL.
class JobQueueProvider {
 public:
  virtual ~JobQueueProvider() = default;
  virtual std::string_view backend() const = 0;
  // Called once per worker thread, on that thread.
  virtual std::shared_ptr<JobQueue> queue_for(boost::asio::any_io_executor executor) = 0;
};

// The queue that goes with a store URL. `store` is that URL's provider (the queue shares its
// keyspace or file, and for memory its one store). Throws std::invalid_argument for a URL that
// has no queue (start-up only). Does not connect.
std::unique_ptr<JobQueueProvider> open_job_queue(std::string_view url, StoreProvider& store,
                                                 StoreOptions const& options, JobQueueOptions const& queue_options);

}  // namespace outboard::state
