#include "jobs/tick.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace outboard::jobs {

std::optional<TickKey> parse_tick_key(std::string_view key) {
  auto at = key.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == key.size()) return std::nullopt;
  TickKey tick{std::string(key.substr(0, at)), 0};
  auto digits = key.substr(at + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), tick.instant_ms);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || tick.instant_ms < 0) return std::nullopt;
  return tick;
}

state::JobSpec tick_job(std::string const& task, std::int64_t instant_ms, int max_attempts, bool catch_up) {
  state::JobSpec spec;
  spec.type = "tick";
  spec.key = task + "@" + std::to_string(instant_ms);
  spec.payload = nlohmann::json{{"task", task}, {"instant_ms", instant_ms}, {"catch_up", catch_up}}.dump();
  spec.max_attempts = max_attempts;
  return spec;
}

core::Result<Marker> TickHandler::marker(state::Claim const& claim) const {
  auto tick = parse_tick_key(claim.key);
  if (!tick) return core::make_error(core::Errc::invalid, "'" + claim.key + "' is not a tick key (<task>@<instant_ms>)");
  if (!tasks_.count(tick->task)) {
    return core::make_error(core::Errc::not_found, "task '" + tick->task + "' is not known to this instance");
  }
  return Marker{ticks_key(tick->task), std::to_string(tick->instant_ms)};
}

state::Async<std::vector<state::Write>> TickHandler::run(JobContext const& ctx) {
  auto tick = parse_tick_key(ctx.claim.key);
  if (!tick || !tasks_.count(tick->task)) co_return core::make_error(core::Errc::invalid, "not a tick of a known task");
  TaskHandler& task = *tasks_.at(tick->task);
  auto writes = co_await task.run(ctx.store, tick->instant_ms);
  if (!writes) co_return writes.error();
  std::string last_key = last_tick_key(tick->task);
  auto last = co_await ctx.store.get(last_key);
  if (!last) co_return last.error();

  nlohmann::json entry{{"instant_ms", tick->instant_ms},
                       {"instance", ctx.instance},
                       {"fence", ctx.claim.fence},
                       {"at_ms", ctx.clock.now_ms()}};
  writes->push_back(state::Write::push(tick_log_key(tick->task), entry.dump(), kTickLogTtl));
  // `last` only moves forward: a catch-up tick of an older instant may commit after a newer one.
  std::int64_t previous = -1;
  if (*last) std::from_chars((*last)->data(), (*last)->data() + (*last)->size(), previous);
  auto payload = nlohmann::json::parse(ctx.claim.payload, nullptr, false);
  bool catch_up = payload.is_object() && payload.value("catch_up", false);
  if (!catch_up && tick->instant_ms > previous) {
    writes->push_back(state::Write::set(last_key, std::to_string(tick->instant_ms)));
  }
  co_return std::move(*writes);
}

}  // namespace outboard::jobs
