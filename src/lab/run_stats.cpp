#include "lab/run_stats.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace outboard::lab {

std::int64_t Invariants::losses() const {
  return unexpected_logouts + lost_cart_lines + duplicated_cart_lines + duplicate_orders + lost_orders +
         upload_mismatches + failed_retryable + revoked_accepted + refresh_family_revoked + chat_lost +
         chat_duplicated + chat_out_of_order + receipts_lost + receipts_duplicated + ticks_missed + ticks_run_twice +
         stale_lease_writes + lost_moves + double_activations;
}

double quantile(std::vector<float> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  if (rank > 0) --rank;
  return samples[std::min(rank, samples.size() - 1)];
}

RunStats::Second& RunStats::second_at(std::int64_t now_ms) {
  auto index = static_cast<std::size_t>(std::max<std::int64_t>(0, now_ms - start_ms_) / 1000);
  if (seconds_.size() <= index) seconds_.resize(index + 1);
  return seconds_[index];
}

void RunStats::record_attempt(std::int64_t now_ms, Reply const& reply) {
  if (!reply.served_by.empty()) {
    ++served_by_[reply.served_by];
    ++second_at(now_ms).served_by[reply.served_by];
  }
  bool failed = true;
  switch (reply.failure) {
    case Failure::connect: ++failures_.connect; break;
    case Failure::timeout:
    case Failure::broken: ++failures_.timeout; break;
    case Failure::none:
      failed = reply.status >= 500;
      if (failed) ++failures_.server_5xx;
      break;
  }
  if (failed) ++second_at(now_ms).errors;
}

void RunStats::record_request(std::int64_t now_ms, double latency_ms, bool succeeded) {
  ++requests_;
  auto& second = second_at(now_ms);
  if (succeeded) {
    ++succeeded_;
    ++second.requests;
  }
  latencies_ms_.push_back(static_cast<float>(latency_ms));
  second.latencies_ms.push_back(static_cast<float>(latency_ms));
}

void RunStats::record_logout(std::int64_t now_ms) {
  ++invariants_.unexpected_logouts;
  ++second_at(now_ms).logouts;
}

void RunStats::record_event(std::int64_t now_ms, std::string kind, std::string detail) {
  events_.push_back({now_ms - start_ms_, std::move(kind), std::move(detail)});
}

void RunStats::record_servers(std::int64_t now_ms, int count) { second_at(now_ms).servers = count; }

std::vector<double> RunStats::load_imbalance() const {
  std::vector<double> out;
  int servers = 0;
  for (auto const& s : seconds_) {
    if (s.servers > 0) servers = s.servers;
    std::int64_t total = 0;
    std::int64_t busiest = 0;
    for (auto const& [id, n] : s.served_by) {
      total += n;
      busiest = std::max(busiest, n);
    }
    if (total == 0 || servers == 0) {
      out.push_back(-1);
    } else {
      out.push_back(static_cast<double>(busiest) / static_cast<double>(total) * servers);
    }
  }
  return out;
}

void RunStats::record_unexpected(std::string what) { ++unexpected_[std::move(what)]; }

void RunStats::set_chat(ChatReport report) {
  invariants_.chat_lost = report.lost;
  invariants_.chat_duplicated = report.duplicated;
  invariants_.chat_out_of_order = report.out_of_order;
  chat_ = std::move(report);
}

void RunStats::set_jobs(JobsReport report) {
  invariants_.receipts_lost = report.receipts.lost;
  invariants_.receipts_duplicated = report.receipts.duplicated;
  invariants_.ticks_missed = report.ticks.missed;
  invariants_.ticks_run_twice = report.ticks.run_twice;
  invariants_.stale_lease_writes = report.receipts.stale_writes + report.ticks.stale_writes;
  if (!report.ticks_problem.empty()) record_unexpected("tick log unreadable: " + report.ticks_problem);
  jobs_ = std::move(report);
}

void RunStats::set_game(GameReport report) {
  invariants_.lost_moves = report.lost_beyond_bound;
  invariants_.double_activations = report.double_activations;
  game_ = std::move(report);
}

namespace {

nlohmann::json game_json(GameReport const& r) {
  return {{"moves_sent", r.moves_sent},
          {"moves_acknowledged", r.moves_acknowledged},
          {"moves_lost", r.lost},
          {"lost_beyond_bound", r.lost_beyond_bound},
          {"loss_bound_ms", r.loss_bound_ms},
          {"losses", r.losses},
          {"lost_span_max_ms", r.lost_span_max_ms},
          {"double_activations", r.double_activations},
          {"overlapping_activations", r.overlapping_pairs},
          {"rooms", r.rooms},
          {"activations", r.activations},
          {"refused", r.refused},
          {"welcomes", r.welcomes},
          {"audits", r.audits},
          {"audits_missing", r.audits_missing},
          {"connects", r.connects},
          {"reconnects", r.reconnects},
          {"closes", r.closes},
          {"recoveries", r.recoveries},
          {"recovery_p50_ms", r.recovery_p50_ms},
          {"recovery_p99_ms", r.recovery_p99_ms},
          {"recovery_max_ms", r.recovery_max_ms}};
}

nlohmann::json jobs_json(JobsReport const& r) {
  return {{"orders", r.receipts.orders},
          {"orders_unreadable", r.receipts.unreadable},
          {"receipts_sent", r.receipts.sent},
          {"receipts_settled", r.receipts_settled},
          {"stale_receipt_writes", r.receipts.stale_writes},
          {"dead_letters", r.receipts.dead},
          {"tick_instants", r.ticks.instants},
          {"tick_runs", r.ticks.runs},
          {"stale_tick_writes", r.ticks.stale_writes},
          {"tick_window_ms", {r.window.first_ms, r.window.last_ms}},
          {"tick_period_ms", r.window.period_ms},
          {"fenced_writes_refused", r.counters.fenced_writes_refused},
          {"lease_losses", r.counters.lease_losses}};
}

}  // namespace

void RunStats::record_revocation(std::int64_t accepted_for_ms, std::string const& by, bool refused_elsewhere) {
  revocation_windows_ms_.push_back(static_cast<float>(accepted_for_ms));
  if (refused_elsewhere) ++revocations_refused_elsewhere_;
  if (by.empty()) return;
  auto& longest = revocation_max_by_[by];
  longest = std::max(longest, accepted_for_ms);
}

nlohmann::json RunStats::to_json(std::int64_t duration_ms) const {
  nlohmann::json timeline = nlohmann::json::array();
  auto imbalance = load_imbalance();
  double imbalance_sum = 0;
  double imbalance_peak = 0;
  int imbalance_seconds = 0;
  for (std::size_t i = 0; i < seconds_.size(); ++i) {
    auto const& s = seconds_[i];
    nlohmann::json second{{"t", i},
                          {"requests", s.requests},
                          {"errors", s.errors},
                          {"logouts", s.logouts},
                          {"p99_ms", quantile(s.latencies_ms, 0.99)}};
    if (imbalance[i] >= 0) {
      second["load_imbalance"] = imbalance[i];
      imbalance_sum += imbalance[i];
      imbalance_peak = std::max(imbalance_peak, imbalance[i]);
      ++imbalance_seconds;
    }
    timeline.push_back(std::move(second));
  }
  nlohmann::json faults = nlohmann::json::array();
  for (auto const& e : events_) faults.push_back({{"t_ms", e.t_ms}, {"kind", e.kind}, {"detail", e.detail}});
  double seconds = static_cast<double>(std::max<std::int64_t>(duration_ms, 1)) / 1000.0;
  double max_ms = latencies_ms_.empty() ? 0.0 : *std::max_element(latencies_ms_.begin(), latencies_ms_.end());
  nlohmann::json doc = {
      {"invariants",
       {{"unexpected_logouts", invariants_.unexpected_logouts},
        {"lost_cart_lines", invariants_.lost_cart_lines},
        {"duplicated_cart_lines", invariants_.duplicated_cart_lines},
        {"duplicate_orders", invariants_.duplicate_orders},
        {"lost_orders", invariants_.lost_orders},
        {"upload_mismatches", invariants_.upload_mismatches},
        {"failed_retryable", invariants_.failed_retryable},
        {"revoked_accepted", invariants_.revoked_accepted},
        {"refresh_family_revoked", invariants_.refresh_family_revoked},
        {"chat_lost", invariants_.chat_lost},
        {"chat_duplicated", invariants_.chat_duplicated},
        {"chat_out_of_order", invariants_.chat_out_of_order},
        {"receipts_lost", invariants_.receipts_lost},
        {"receipts_duplicated", invariants_.receipts_duplicated},
        {"ticks_missed", invariants_.ticks_missed},
        {"ticks_run_twice", invariants_.ticks_run_twice},
        {"stale_lease_writes", invariants_.stale_lease_writes},
        {"lost_moves", invariants_.lost_moves},
        {"double_activations", invariants_.double_activations}}},
      {"chat",
       {{"sent", chat_.sent},
        {"resent", chat_.resent},
        {"acknowledged", chat_.acknowledged},
        {"expected", chat_.expected},
        {"delivered", chat_.delivered},
        {"received", chat_.received},
        {"history_truncated", chat_.history_truncated},
        {"in_reported_gaps", chat_.in_reported_gaps},
        {"connects", chat_.connects},
        {"reconnects", chat_.reconnects},
        {"closes", chat_.closes},
        {"latency_p50_ms", chat_.latency_p50_ms},
        {"latency_p99_ms", chat_.latency_p99_ms},
        {"latency_max_ms", chat_.latency_max_ms}}},
      {"failures",
       {{"connect", failures_.connect},
        {"server_5xx", failures_.server_5xx},
        {"timeout", failures_.timeout},
        {"total", failures_.total()}}},
      {"journeys", {{"completed", journeys_completed_}, {"abandoned", journeys_abandoned_}}},
      {"requests",
       {{"total", requests_},
        {"succeeded", succeeded_},
        {"retries", retries_},
        {"gateway_retries", gateway_retries_},
        {"replayed", replayed_},
        {"token_refreshes", token_refreshes_},
        {"per_second", static_cast<double>(succeeded_) / seconds}}},
      {"latency_ms",
       {{"p50", quantile(latencies_ms_, 0.50)}, {"p99", quantile(latencies_ms_, 0.99)}, {"max", max_ms}}},
      {"served_by", served_by_},
      {"load",
       {{"imbalance", imbalance_seconds > 0 ? imbalance_sum / imbalance_seconds : 0.0},
        {"peak_imbalance", imbalance_peak}}},
      {"unexpected_answers", unexpected_},
      {"revocation",
       {{"logouts_checked", revocation_windows_ms_.size()},
        {"bound_ms", revocation_bound_ms_},
        {"refused_by_another_server", revocations_refused_elsewhere_},
        {"accepted_for_p50_ms", quantile(revocation_windows_ms_, 0.50)},
        {"accepted_for_p99_ms", quantile(revocation_windows_ms_, 0.99)},
        {"accepted_for_max_ms", quantile(revocation_windows_ms_, 1.0)},
        {"longest_by_server_ms", revocation_max_by_}}},
      {"timeline", std::move(timeline)},
      {"faults", std::move(faults)},
  };
  if (jobs_) doc["jobs"] = jobs_json(*jobs_);
  if (game_) doc["game"] = game_json(*game_);
  if (truth_) {
    doc["truth"] = {{"gateways", truth_->gateways},
                    {"registry", truth_->registry ? "etcd" : "none"},
                    {"users_moved", users_moved()},
                    {"routed_to_gone", truth_->routed_to_gone},
                    {"convergence_samples", truth_->convergence_samples},
                    {"convergence_p50_ms", truth_->convergence_p50_ms},
                    {"convergence_p99_ms", truth_->convergence_p99_ms},
                    {"convergence_max_ms", truth_->convergence_max_ms},
                    {"revision_samples", truth_->revision_samples},
                    {"disagreement_ms", truth_->disagreement_ms},
                    {"losses_in_disagreement", truth_->losses_in_disagreement}};
  }
  return doc;
}

}  // namespace outboard::lab
