#include "jobs/schedule.hpp"

#include <cctype>
#include <string>

namespace outboard::jobs {
namespace {

constexpr std::int64_t kMaxEveryMs = 366LL * 24 * 3600 * 1000;

core::Error bad_every(std::string_view text, std::string const& why) {
  return core::make_error(core::Errc::invalid,
                          "'" + std::string(text.substr(0, 24)) + "' " + why + " (like \"500ms\", \"30s\", \"5m\", \"1h\")");
}

std::int64_t unit_ms(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  if (unit == "d") return 86'400'000;
  return 0;
}

}  // namespace

core::Result<core::Millis> parse_every(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) {
    bool negative = !text.empty() && text[0] == '-';
    return bad_every(text, negative ? "is negative" : "does not start with a number");
  }
  std::int64_t unit = unit_ms(text.substr(digits));
  if (unit == 0) return bad_every(text, text.size() == digits ? "has no unit" : "has an unknown unit");
  if (digits > 12) return bad_every(text, "is longer than 366 days");
  std::int64_t count = std::stoll(std::string(text.substr(0, digits)));
  if (count == 0) return bad_every(text, "is zero");
  if (count > kMaxEveryMs / unit) return bad_every(text, "is longer than 366 days");
  return core::Millis(count * unit);
}

std::optional<std::int64_t> next_instant(Timing const& timing, std::int64_t from_ms) {
  if (auto const* every = std::get_if<Every>(&timing)) {
    std::int64_t p = every->period.count();
    std::int64_t q = from_ms / p - (from_ms % p != 0 && from_ms < 0);  // floor
    return (q + 1) * p;
  }
  return cron_next_after(std::get<CronExpr>(timing), from_ms);
}

std::optional<std::int64_t> last_instant(Timing const& timing, std::int64_t at_ms) {
  if (at_ms < 0) return std::nullopt;
  if (auto const* every = std::get_if<Every>(&timing)) {
    std::int64_t p = every->period.count();
    return at_ms / p * p;
  }
  return cron_last_at_or_before(std::get<CronExpr>(timing), at_ms);
}

Due due_between(Timing const& timing, std::int64_t after_ms, std::int64_t now_ms) {
  Due due;
  auto current = last_instant(timing, now_ms);
  if (!current || *current <= after_ms) return due;
  due.current = current;
  auto previous = last_instant(timing, *current - 1);
  if (!previous || *previous <= after_ms) return due;
  due.latest_missed = previous;
  if (auto const* every = std::get_if<Every>(&timing)) {
    std::int64_t first = *next_instant(timing, after_ms);
    due.missed = std::min(kMissedCountCap, (*previous - first) / every->period.count() + 1);
    return due;
  }
  for (auto at = next_instant(timing, after_ms); at && *at < *current && due.missed < kMissedCountCap;
       at = next_instant(timing, *at)) {
    ++due.missed;
  }
  return due;
}

}  // namespace outboard::jobs
