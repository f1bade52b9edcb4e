#pragma once
// The jobs workload's receipt ledger (docs/LAB.md, "The jobs workload"): after the run, every
// order a virtual user placed is read back with GET /orders/{id}, whose "receipt" object says
// how many receipts the outbox holds for it, with the fence of the claim that wrote each, and
// what the job is doing (or null when the server answering cannot see the job: a naive server's
// in-process queue). Pure functions over that JSON, so the arithmetic is tested with plain values.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace outboard::lab {

// One reading of an order's receipt.
struct ReceiptReading {
  std::int64_t deliveries = 0;
  std::vector<std::int64_t> fences;  // one per delivery, in the outbox's order (the order of the commits)
  std::optional<std::string> job_state;  // "waiting", "running", "done", "dead"; nullopt: not visible
  std::int64_t job_fence = 0;
};

// The "receipt" object of a GET /orders/{id} answer ({"order": ..., "receipt": {...}}); nullopt
// when the answer has none or it is malformed (the server does not run the jobs workload).
std::optional<ReceiptReading> read_receipt(nlohmann::json const& order_answer);

// Whether a reading is final: the job is done or dead, or (a job no answering server could show)
// a receipt was sent. Anything else may still change, so the ledger reads it again until its bound.
bool receipt_settled(ReceiptReading const& reading);

// How many writes in `fences` (in commit order) came from a stale lease: a write whose fence is
// lower than that of a write committed before it. Fences only grow per job, so such a write was
// made by a holder after a newer holder had already written: its lease was gone when it wrote.
// (A lower fence than the job's alone proves nothing: a holder may commit in time and lose its
// lease before it acknowledges, and the next holder then only acknowledges.)
std::int64_t stale_writes(std::vector<std::int64_t> const& fences);

struct ReceiptCounts {
  std::int64_t orders = 0;      // orders the users placed (confirmed 2xx)
  std::int64_t unreadable = 0;  // orders whose receipt could not be read at all (not counted below)
  std::int64_t sent = 0;        // orders with at least one receipt
  std::int64_t lost = 0;        // orders with no receipt when the ledger stopped waiting
  std::int64_t duplicated = 0;  // receipts beyond the first, over all orders
  std::int64_t stale_writes = 0;
  std::int64_t dead = 0;        // jobs that reached the dead-letter list (seen)
};

// The counts over the last reading of each order (nullopt: never read).
ReceiptCounts count_receipts(std::vector<std::optional<ReceiptReading>> const& last_readings);

}  // namespace outboard::lab
