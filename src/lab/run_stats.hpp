#pragma once
// Everything one mode's run counts: the client-side ledger's verdicts (the invariants), failed
// attempts by class, journeys, latency, and a per-second timeline with the faults on it.
// Single-threaded: the virtual users and the faults all run on the lab's one event loop.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lab/chat_ledger.hpp"
#include "lab/game_ledger.hpp"
#include "lab/receipt_ledger.hpp"
#include "lab/tick_ledger.hpp"
#include "lab/user_agent.hpp"

namespace outboard::lab {

// The losses. Each is a count of things a user was promised and did not get.
struct Invariants {
  std::int64_t unexpected_logouts = 0;     // a 401 while the user held a live session
  std::int64_t lost_cart_lines = 0;        // a line added (2xx) missing from the cart later
  std::int64_t duplicated_cart_lines = 0;  // a line in the cart more often than it was added
  std::int64_t duplicate_orders = 0;       // one Idempotency-Key, more than one order
  std::int64_t lost_orders = 0;            // an order confirmed (2xx) missing from /orders later
  std::int64_t upload_mismatches = 0;      // an upload read back different, or not at all
  std::int64_t failed_retryable = 0;       // safe to retry, retried, and still failed
  // Logged out (acknowledged), and the old session cookie or access token was still accepted
  // later than the run's revocation bound (UserSettings::revocation_bound).
  std::int64_t revoked_accepted = 0;
  // The jwt design: a refresh refused to a user who never reused a token past the grace window.
  std::int64_t refresh_family_revoked = 0;
  // The chat journey (chat_ledger.hpp): owed messages never received, one message received twice
  // by one user, a message received below one received before it in the room.
  std::int64_t chat_lost = 0;
  std::int64_t chat_duplicated = 0;
  std::int64_t chat_out_of_order = 0;
  // The jobs workload (receipt_ledger.hpp, tick_ledger.hpp), counted after the run: an order
  // with no receipt, receipts beyond one per order, a scheduled instant that never ran, runs
  // beyond one per instant, and writes (receipts and ticks) made after a newer holder had written.
  std::int64_t receipts_lost = 0;
  std::int64_t receipts_duplicated = 0;
  std::int64_t ticks_missed = 0;
  std::int64_t ticks_run_twice = 0;
  std::int64_t stale_lease_writes = 0;
  // The game journey (game_ledger.hpp): acknowledged moves a room's later record did not hold,
  // beyond what the design promises to lose (ModeSpec::game_loss_bound_ms), and rooms where two
  // activations accepted moves at once.
  std::int64_t lost_moves = 0;
  std::int64_t double_activations = 0;
  std::int64_t losses() const;             // the sum of the above
};

// What the servers counted of the jobs (their /metrics), summed over the run: stopped servers
// included, read just before they were stopped.
struct JobCounters {
  std::int64_t fenced_writes_refused = 0;
  std::int64_t lease_losses = 0;
};

// What the jobs workload's ledgers found, for the results' "jobs" object.
struct JobsReport {
  ReceiptCounts receipts;
  bool receipts_settled = false;  // every order's reading was final before the bound passed
  TickCounts ticks;
  TickWindow window;
  std::string ticks_problem;      // why the tick log could not be read ("" when it was)
  JobCounters counters;
};

// Several gateways and the registry (`lab --gateways N --registry etcd`, docs/LAB.md): what the
// lab saw of their agreement. Present in the results only for a run with more than one gateway
// or a registry.
struct TruthReport {
  int gateways = 1;
  bool registry = false;
  // Tries the gateways sent to a server the lab had already stopped (killed, or retired and
  // gone): the growth of each gateway's outboard_gateway_backend_failures_total for that server
  // after it stopped. A retry may have saved the user; the row shows the routers' stale truth.
  std::int64_t routed_to_gone = 0;
  // Every gateway's outboard_gateway_registry_convergence_seconds, merged (killed gateways read
  // just before their death): samples, and the bucket bounds of p50/p99/max, in ms.
  std::int64_t convergence_samples = 0;
  double convergence_p50_ms = 0;
  double convergence_p99_ms = 0;
  double convergence_max_ms = 0;
  // Each gateway's outboard_gateway_registry_revision read every kRevisionSampleMs: samples
  // taken, the time the living gateways' revisions differed (a sample that differed counts the
  // time since the one before), and the losses found in those stretches.
  std::int64_t revision_samples = 0;
  std::int64_t disagreement_ms = 0;
  std::int64_t losses_in_disagreement = 0;
};

struct FailureCounts {
  std::int64_t connect = 0;
  std::int64_t server_5xx = 0;
  std::int64_t timeout = 0;  // includes connections broken mid-request
  std::int64_t total() const { return connect + server_5xx + timeout; }
};

struct Event {
  std::int64_t t_ms = 0;
  std::string kind;
  std::string detail;
};

class RunStats {
 public:
  explicit RunStats(std::int64_t start_ms) : start_ms_(start_ms) {}

  // One try of a request, whatever came back.
  void record_attempt(std::int64_t now_ms, Reply const& reply);
  // One request as the user saw it, retries included.
  void record_request(std::int64_t now_ms, double latency_ms, bool succeeded);
  void record_retry() { ++retries_; }
  void record_token_refresh() { ++token_refreshes_; }
  // User `user` (its index) connected to another gateway because its own refused (user_agent.hpp,
  // chat_user.cpp): its HTTP agent and its chat WebSocket move apart, the user counts once.
  void record_gateway_move(int user) { users_moved_.insert(user); }
  std::int64_t users_moved() const { return static_cast<std::int64_t>(users_moved_.size()); }
  // The several-gateways figures, at the end of the run (its users_moved is this object's count).
  void set_truth(TruthReport report) { truth_ = report; }
  // From the cluster's /metrics at the end of the run: the gateway's own retries, and the
  // requests the servers answered from an idempotency record instead of running them again.
  void set_gateway_retries(std::int64_t n) { gateway_retries_ = n; }
  void set_replayed(std::int64_t n) { replayed_ = n; }
  void record_logout(std::int64_t now_ms);
  void record_event(std::int64_t now_ms, std::string kind, std::string detail);
  // How many servers are in the cluster from now on (for the load balance of each second).
  void record_servers(std::int64_t now_ms, int count);
  void journey_completed() { ++journeys_completed_; }
  void journey_abandoned() { ++journeys_abandoned_; }
  std::int64_t journeys_ended() const { return journeys_completed_ + journeys_abandoned_; }
  // A 2xx/4xx answer the ledger did not expect (a data bug more than a failure); kept for the reader.
  void record_unexpected(std::string what);
  // After an acknowledged logout the user sends its old credential again until servers refuse
  // it: `accepted_for_ms` is how long after the acknowledgement it was last accepted (0 when
  // never), `by` the server that accepted it then ("" when none did); `refused_elsewhere` when a
  // server other than the one that logged the user out refused it (revocation is shared).
  void record_revocation(std::int64_t accepted_for_ms, std::string const& by, bool refused_elsewhere);
  void set_revocation_bound_ms(std::int64_t bound) { revocation_bound_ms_ = bound; }
  // The chat ledger's verdicts, at the end of the run (its invariants join the others).
  void set_chat(ChatReport report);
  // The jobs workload's ledgers, after the run (its invariants join the others).
  void set_jobs(JobsReport report);
  // The game ledger's verdicts, after the run (its invariants join the others; the results get a
  // "game" object only from a run that had game players).
  void set_game(GameReport report);

  Invariants& invariants() { return invariants_; }
  Invariants const& invariants() const { return invariants_; }
  FailureCounts const& failures() const { return failures_; }
  std::vector<Event> const& events() const { return events_; }
  std::int64_t requests() const { return requests_; }
  std::int64_t succeeded() const { return succeeded_; }

  // The "modes[i]" document of html_report.hpp without mode, description and verdict.
  nlohmann::json to_json(std::int64_t duration_ms) const;

 private:
  struct Second {
    std::int64_t requests = 0;
    std::int64_t errors = 0;
    std::int64_t logouts = 0;
    std::vector<float> latencies_ms;
    std::map<std::string, std::int64_t> served_by;
    int servers = 0;  // 0: unchanged since the second before
  };
  // Per second, the busiest server's share of answers times the servers in the cluster: 1.0 is
  // an even spread, 2.0 means one server did twice its fair part. -1 for a second without answers.
  std::vector<double> load_imbalance() const;
  Second& second_at(std::int64_t now_ms);

  std::int64_t start_ms_;
  Invariants invariants_;
  FailureCounts failures_;
  std::int64_t requests_ = 0;
  std::int64_t succeeded_ = 0;
  std::int64_t retries_ = 0;          // by the virtual users
  std::int64_t token_refreshes_ = 0;  // new token pairs the users got (the jwt design)
  std::int64_t gateway_retries_ = 0;
  std::set<int> users_moved_;
  std::optional<TruthReport> truth_;  // only for several gateways or a registry
  std::int64_t replayed_ = 0;
  std::int64_t journeys_completed_ = 0;
  std::int64_t journeys_abandoned_ = 0;
  std::vector<float> latencies_ms_;
  std::vector<Second> seconds_;
  std::map<std::string, std::int64_t> served_by_;
  std::vector<Event> events_;
  std::map<std::string, std::int64_t> unexpected_;
  std::vector<float> revocation_windows_ms_;                 // one per logout checked
  std::map<std::string, std::int64_t> revocation_max_by_;    // server -> longest acceptance
  std::int64_t revocation_bound_ms_ = 0;
  std::int64_t revocations_refused_elsewhere_ = 0;
  ChatReport chat_;
  std::optional<JobsReport> jobs_;  // only when the jobs workload ran
  std::optional<GameReport> game_;  // only when game players ran
};

// The q-quantile (0..1) of samples, by nearest rank; 0 for none. Sorts a copy.
double quantile(std::vector<float> samples, double q);

}  // namespace outboard::lab
