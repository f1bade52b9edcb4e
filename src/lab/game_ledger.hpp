#pragma once
// The game journey's ledger (docs/ACTORS.md's protocol): one per mode's run, shared by every game
// player (the lab is single-threaded: no locks). It records what the rooms promised each player
// and what they later said they held, and judges it:
//
// - acknowledged moves lost: a move counts once its own `moved` (player = me) arrived. Whenever a
//   room states its record of the player (a `welcome`'s last_seq, or an `out_of_order` refusal's
//   `expected` - 1), every acknowledged move above that record is lost. The player then continues
//   from the record + 1, reusing those seq numbers (a new *epoch*): the lost ones are forgotten so
//   that the reused numbers are judged afresh. Each player rejoins once after the run (the final
//   audit), which is the same check. A record above the highest acknowledged seq is no loss: the
//   acknowledgement was lost in flight, not the move.
// - lost beyond the bound: a design may promise to lose at most the moves of its last moments
//   (`actors`: those since its last checkpoint). Of the moves lost at one record, those acknowledged
//   at least `loss_bound_ms` before the newest lost one are beyond that promise; with a bound of 0
//   every lost move is (no loss promised at all).
// - double activation: per room, each activation's interval [first at_us, last at_us] over the
//   moves it accepted (every `moved` any player saw). Two intervals of one room that overlap are
//   two owners accepting moves at once: the room counts once, and every overlapping pair is
//   counted too. Design-agnostic: stateful servers each have an activation of their own.
// - recovery time: from the moment a player's connection ended without the player ending it (a
//   close frame, a drop, no answer in time) to its next acknowledged move.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace outboard::lab {

struct GameReport {
  // The invariants.
  std::int64_t lost_beyond_bound = 0;   // acknowledged moves lost beyond the design's promise
  std::int64_t double_activations = 0;  // rooms where two activations' intervals overlap
  // The measures behind them.
  std::int64_t lost = 0;                // every acknowledged move lost, within the bound or not
  std::int64_t loss_bound_ms = 0;
  std::int64_t losses = 0;              // records (welcomes, resyncs) that found a loss
  std::int64_t lost_span_max_ms = 0;    // the longest stretch of acknowledgements one loss took back
  std::int64_t overlapping_pairs = 0;
  std::int64_t rooms = 0;               // rooms that accepted at least one move
  std::int64_t activations = 0;         // (room, activation) pairs that accepted a move
  // Volume.
  std::int64_t moves_sent = 0;
  std::int64_t moves_acknowledged = 0;
  std::map<std::string, std::int64_t> refused;  // moves and joins refused, by reason
  std::int64_t welcomes = 0;
  std::int64_t audits = 0;              // final rejoins whose welcome arrived
  std::int64_t audits_missing = 0;      // players whose final rejoin never got a welcome
  std::int64_t connects = 0;
  std::int64_t reconnects = 0;
  std::map<std::string, std::int64_t> closes;  // why connections ended: "1012", "dropped", "ack_timeout", ...
  // Recovery: a drop to the next acknowledged move.
  std::int64_t recoveries = 0;
  double recovery_p50_ms = 0;
  double recovery_p99_ms = 0;
  double recovery_max_ms = 0;
};

class GameLedger {
 public:
  using PlayerId = int;

  explicit GameLedger(std::int64_t loss_bound_ms = 0) : loss_bound_ms_(loss_bound_ms) {}

  // A `welcome` arrived: the room's record of the player is `last_seq`. `audit`: the final rejoin.
  void welcomed(PlayerId player, std::string const& room, std::int64_t last_seq, std::int64_t at_ms,
                bool audit = false);
  // An `out_of_order` refusal said the next seq is `expected`: the room's record is expected - 1.
  void resynced(PlayerId player, std::string const& room, std::int64_t expected, std::int64_t at_ms);
  // The player's own move `seq` was acknowledged (its `moved`).
  void acknowledged(PlayerId player, std::string const& room, std::int64_t seq, std::int64_t at_ms);
  // Any `moved` any player saw: `activation` of `room` accepted a move at its clock's `at_us`.
  void accepted(std::string const& room, std::string const& activation, std::int64_t at_us);
  // The player's connection ended without the player ending it; `why`: "1012", "dropped", ...
  void dropped(PlayerId player, std::string const& why, std::int64_t at_ms);
  void refused(std::string const& reason) { ++report_.refused[reason]; }
  void count_move() { ++report_.moves_sent; }
  void count_connect(bool after_a_drop);
  void audit_missing() { ++report_.audits_missing; }

  GameReport report() const;

 private:
  struct Span {
    std::int64_t first_us = 0;
    std::int64_t last_us = 0;
  };
  // The room says it holds the player's moves up to `record`: what was acknowledged above is lost.
  void check_record(PlayerId player, std::string const& room, std::int64_t record);
  static std::int64_t overlapping_pairs(std::vector<Span> spans);

  std::int64_t loss_bound_ms_;
  // (player, room) -> seq -> when its acknowledgement arrived, in the current epoch.
  std::map<std::pair<PlayerId, std::string>, std::map<std::int64_t, std::int64_t>> acked_;
  std::map<PlayerId, std::int64_t> outage_from_ms_;  // a drop the player has not recovered from yet
  std::map<std::string, std::map<std::string, Span>> activations_;  // room -> activation -> span
  std::vector<float> recoveries_ms_;
  GameReport report_;  // the counters kept as things happen
};

}  // namespace outboard::lab
