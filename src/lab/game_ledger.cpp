#include "lab/game_ledger.hpp"

#include <algorithm>

#include "lab/run_stats.hpp"

namespace outboard::lab {

void GameLedger::check_record(PlayerId player, std::string const& room, std::int64_t record) {
  auto& acked = acked_[{player, room}];
  auto first_lost = acked.upper_bound(record);
  if (first_lost == acked.end()) return;  // nothing acknowledged above the record (or it was lost in flight)
  std::int64_t oldest = first_lost->second;
  std::int64_t newest = first_lost->second;
  for (auto it = first_lost; it != acked.end(); ++it) {
    oldest = std::min(oldest, it->second);
    newest = std::max(newest, it->second);
  }
  for (auto it = first_lost; it != acked.end(); ++it) {
    ++report_.lost;
    if (newest - it->second >= loss_bound_ms_) ++report_.lost_beyond_bound;
  }
  ++report_.losses;
  report_.lost_span_max_ms = std::max(report_.lost_span_max_ms, newest - oldest);
  // The player goes on from record + 1: those seq numbers are reused, and judged afresh.
  acked.erase(first_lost, acked.end());
}

void GameLedger::welcomed(PlayerId player, std::string const& room, std::int64_t last_seq, std::int64_t /*at_ms*/,
                          bool audit) {
  ++report_.welcomes;
  if (audit) ++report_.audits;
  check_record(player, room, last_seq);
}

void GameLedger::resynced(PlayerId player, std::string const& room, std::int64_t expected, std::int64_t /*at_ms*/) {
  check_record(player, room, expected - 1);
}

void GameLedger::acknowledged(PlayerId player, std::string const& room, std::int64_t seq, std::int64_t at_ms) {
  // A second acknowledgement of one seq in one epoch (not expected of a server) keeps the first.
  if (!acked_[{player, room}].emplace(seq, at_ms).second) return;
  ++report_.moves_acknowledged;
  if (auto outage = outage_from_ms_.find(player); outage != outage_from_ms_.end()) {
    recoveries_ms_.push_back(static_cast<float>(at_ms - outage->second));
    outage_from_ms_.erase(outage);
  }
}

void GameLedger::accepted(std::string const& room, std::string const& activation, std::int64_t at_us) {
  auto [it, first] = activations_[room].try_emplace(activation, Span{at_us, at_us});
  if (first) return;
  it->second.first_us = std::min(it->second.first_us, at_us);
  it->second.last_us = std::max(it->second.last_us, at_us);
}

void GameLedger::dropped(PlayerId player, std::string const& why, std::int64_t at_ms) {
  ++report_.closes[why];
  // The recovery runs from the first drop: a reconnect that fails again is part of the same outage.
  outage_from_ms_.try_emplace(player, at_ms);
}

void GameLedger::count_connect(bool after_a_drop) {
  ++report_.connects;
  if (after_a_drop) ++report_.reconnects;
}

// Inclusive: two activations accepting moves in the same microsecond are two owners at once.
std::int64_t GameLedger::overlapping_pairs(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](Span const& a, Span const& b) { return a.first_us < b.first_us; });
  std::int64_t pairs = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    for (std::size_t j = i + 1; j < spans.size() && spans[j].first_us <= spans[i].last_us; ++j) ++pairs;
  }
  return pairs;
}

GameReport GameLedger::report() const {
  GameReport r = report_;
  r.loss_bound_ms = loss_bound_ms_;
  for (auto const& [room, by_activation] : activations_) {
    std::vector<Span> spans;
    for (auto const& [activation, span] : by_activation) spans.push_back(span);
    std::int64_t pairs = overlapping_pairs(std::move(spans));
    ++r.rooms;
    r.activations += static_cast<std::int64_t>(by_activation.size());
    r.overlapping_pairs += pairs;
    if (pairs > 0) ++r.double_activations;
  }
  r.recoveries = static_cast<std::int64_t>(recoveries_ms_.size());
  r.recovery_p50_ms = quantile(recoveries_ms_, 0.50);
  r.recovery_p99_ms = quantile(recoveries_ms_, 0.99);
  r.recovery_max_ms = quantile(recoveries_ms_, 1.0);
  return r;
}

}  // namespace outboard::lab
