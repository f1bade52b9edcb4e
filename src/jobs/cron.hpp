#pragma once
// Cron expressions: five fields, "minute hour day-of-month month day-of-week", in UTC, as Vixie
// cron reads them:
//   *           every value of the field
//   5  1-5      a value, an inclusive range (low <= high)
//   */15 1-30/2 a step over the field's whole range or over a range
//   5/15        a step from a value to the field's end (cronie's reading; Vixie refuses it)
//   1,15,20-25  a list of any of the above
// Months and days of the week may be named (jan..dec, sun..sat, any case); day-of-week 7 is
// Sunday, like 0. The day rule is Vixie's: when both day fields are restricted a day matches if
// EITHER does ("0 0 1 * mon": the 1st and every Monday); when one of them starts with '*' (so
// "*/2" too) both must match. An expression that can never fire ("0 0 30 feb *") is refused, so
// next_after() always finds an instant.
//
// Pure functions on plain values: no clock, no allocation beyond the error text.
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outboard::jobs {

struct CronExpr {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31 (bit 0 unused)
  std::bitset<13> months;         // 1..12 (bit 0 unused)
  std::bitset<7> days_of_week;    // 0 = Sunday .. 6 = Saturday
  bool dom_star = false;          // the day-of-month field starts with '*'
  bool dow_star = false;          // the day-of-week field starts with '*'

  friend bool operator==(CronExpr const&, CronExpr const&) = default;
};

// Errc::invalid with the reason ("day-of-month: 32 is out of range 1-31") for anything else.
core::Result<CronExpr> parse_cron(std::string_view text);

// A canonical text of the expression: parse_cron(render_cron(e)) == e.
std::string render_cron(CronExpr const& expr);

// The first instant (ms since the epoch, UTC, a whole minute) strictly after from_ms that the
// expression matches. nullopt only outside years 1970..9999.
std::optional<std::int64_t> cron_next_after(CronExpr const& expr, std::int64_t from_ms);

// The last matching instant at or before at_ms; nullopt when there is none since 1970.
std::optional<std::int64_t> cron_last_at_or_before(CronExpr const& expr, std::int64_t at_ms);

}  // namespace outboard::jobs
