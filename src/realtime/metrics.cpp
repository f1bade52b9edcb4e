#include "realtime/metrics.hpp"

#include <fmt/format.h>

namespace outboard::realtime {

std::string_view to_string(CloseReason reason) {
  static constexpr std::array<std::string_view, kCloseReasons> names{
      "client", "drain", "slow_consumer", "too_big", "protocol", "invalid_payload", "unsupported_data", "idle", "error"};
  return names[static_cast<std::size_t>(reason)];
}

std::string_view to_string(Refusal refusal) {
  static constexpr std::array<std::string_view, kRefusals> names{
      "bad_message", "unknown_type", "forbidden", "not_joined", "too_many_rooms", "rate_limited", "store_unavailable"};
  return names[static_cast<std::size_t>(refusal)];
}

RealtimeMetrics::RealtimeMetrics(int shards) {
  for (int i = 0; i < std::max(1, shards); ++i) shards_.push_back(std::make_unique<Shard>());
}

namespace {

template <class Field>
std::uint64_t sum(std::vector<std::unique_ptr<RealtimeMetrics::Shard>> const& shards, Field field) {
  std::int64_t total = 0;
  for (auto const& s : shards) total += static_cast<std::int64_t>(field(*s).load(std::memory_order_relaxed));
  return total < 0 ? 0 : static_cast<std::uint64_t>(total);
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

void RealtimeMetrics::render(std::string& out) const {
  family(out, "outboard_realtime_connections", "gauge", "WebSockets open on /ws.");
  out += fmt::format("outboard_realtime_connections {}\n", sum(shards_, [](Shard& s) -> auto& { return s.open; }));
  struct Counter {
    std::string_view name;
    std::string_view help;
    std::atomic<std::uint64_t> Shard::*field;
  };
  static constexpr Counter counters[] = {
      {"outboard_realtime_accepted_total", "WebSockets accepted on /ws.", &Shard::accepted},
      {"outboard_realtime_received_total", "Client messages decoded.", &Shard::received},
      {"outboard_realtime_stored_total", "Messages appended to a room (resends of one id not counted).", &Shard::stored},
      {"outboard_realtime_delivered_total", "Room messages queued to clients, replays included.", &Shard::delivered},
      {"outboard_realtime_replayed_total", "Room messages read back from the history (joins with since, gaps).",
       &Shard::replayed},
      {"outboard_realtime_history_truncated_total", "Replays that could not reach back far enough (reported).",
       &Shard::truncated},
  };
  for (auto const& c : counters) {
    family(out, c.name, "counter", c.help);
    out += fmt::format("{} {}\n", c.name, sum(shards_, [&](Shard& s) -> auto& { return s.*c.field; }));
  }
  family(out, "outboard_realtime_closed_total", "counter", "WebSockets ended, by reason.");
  for (std::size_t i = 0; i < kCloseReasons; ++i) {
    out += fmt::format("outboard_realtime_closed_total{{reason=\"{}\"}} {}\n", to_string(static_cast<CloseReason>(i)),
                       sum(shards_, [&](Shard& s) -> auto& { return s.closed[i]; }));
  }
  family(out, "outboard_realtime_refused_total", "counter", "Client messages refused with an error message, by reason.");
  for (std::size_t i = 0; i < kRefusals; ++i) {
    out += fmt::format("outboard_realtime_refused_total{{reason=\"{}\"}} {}\n", to_string(static_cast<Refusal>(i)),
                       sum(shards_, [&](Shard& s) -> auto& { return s.refused[i]; }));
  }
}

}  // namespace outboard::realtime
