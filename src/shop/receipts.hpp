#pragma once
// The shop's background work (docs/JOBS.md): a receipt per order, rendered by a job that checkout
// enqueues (keyed by the order, so a checkout run twice enqueues one job), and two scheduled
// tasks: `expire-carts` (carts untouched for a while are emptied) and `sales-summary` (the totals
// of the receipts sent, written to the store).
//
// Keys (one user's on one Redis Cluster slot):
//   receipts:{user}  hash  order id -> the runner's record that the receipt was made (the marker)
//   receipt:{user}   hash  order id -> the rendered receipt (JSON)
//   outbox:{user}    list  one entry per delivery: {"order","fence","instance","at_ms","subject","text"}
//   sales:receipts   hash  "<user>/<order>" -> total cents (what sales-summary adds up)
//   sales:summary    string the latest summary {"instant_ms","orders","total_cents"}
//   carts:touched    hash  user -> when a line was last added (what expire-carts walks)
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "jobs/handler.hpp"
#include "runtime/service.hpp"
#include "state/job_queue.hpp"
#include "state/store.hpp"

namespace outboard::shop {

inline constexpr char kReceiptJob[] = "receipt";
inline constexpr char kExpireCartsTask[] = "expire-carts";
inline constexpr char kSalesSummaryTask[] = "sales-summary";

struct ReceiptConfig {
  // How long rendering a receipt takes (a stand-in for a template engine and a mail API): the
  // lab sets it so that its faults land while receipts are being made.
  std::chrono::milliseconds render_time{0};
  // A cart whose last line was added longer ago than this is emptied by `expire-carts`.
  std::chrono::milliseconds cart_abandon_after{24 * 3600 * 1000};
};

// The receipt job's spec for one order: type "receipt", key "<user>/<order>".
state::JobSpec receipt_job(std::string const& user, std::string const& order_id);

// What GET /orders/{id} shows of the receipt: {"state": "pending"|"sent", "deliveries": n,
// "fences": [...], "job": {"state","attempts","fence"} or null (a queue this server cannot see)}.
state::Async<nlohmann::json> receipt_status(state::Store& data, state::JobQueue* queue, std::string user,
                                            std::string order_id);

// Remembers when `user` last added to the cart (for expire-carts).
state::Async<void> touch_cart(state::Store& data, std::string user, std::int64_t now_ms);

// The shop's job type ("receipt") and tasks ("expire-carts", "sales-summary") for the runner.
runtime::JobHandlers make_job_handlers(ReceiptConfig const& config);
// The names a `[[schedule]]` entry's task may take.
std::vector<std::string> task_names();

}  // namespace outboard::shop
