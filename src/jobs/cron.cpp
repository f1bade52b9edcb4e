#include "jobs/cron.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace outboard::jobs {
namespace {

constexpr std::size_t kMaxExpressionBytes = 256;
constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kDayMinutes = 1440;

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// One of the five fields: its bounds, and the names that stand for values low, low+1, ...
struct FieldSpec {
  std::string_view name;
  int low;
  int high;             // highest value written (7 for day-of-week, read as 0)
  int star_high;        // highest value '*' covers (6 for day-of-week)
  std::string_view const* names = nullptr;
  std::size_t name_count = 0;
};

constexpr FieldSpec kMinute{"minute", 0, 59, 59};
constexpr FieldSpec kHour{"hour", 0, 23, 23};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31};
constexpr FieldSpec kMonth{"month", 1, 12, 12, kMonthNames.data(), kMonthNames.size()};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, kDayNames.data(), kDayNames.size()};

using Bits = std::bitset<64>;

core::Error refused(FieldSpec const& spec, std::string_view token, std::string const& why) {
  std::string shown(token.substr(0, 24));
  return core::make_error(core::Errc::invalid, std::string(spec.name) + ": '" + shown + "' " + why);
}

std::string bounds_of(FieldSpec const& spec) {
  return std::to_string(spec.low) + "-" + std::to_string(spec.high);
}

// A number (at most 3 digits) or, where the field has names, a three-letter name.
core::Result<int> parse_value(FieldSpec const& spec, std::string_view token) {
  if (token.empty()) return refused(spec, token, "is missing a value");
  if (std::isdigit(static_cast<unsigned char>(token[0]))) {
    if (token.size() > 3) return refused(spec, token, "is out of range " + bounds_of(spec));
    int value = 0;
    for (char c : token) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return refused(spec, token, "is not a number");
      value = value * 10 + (c - '0');
    }
    if (value < spec.low || value > spec.high) return refused(spec, token, "is out of range " + bounds_of(spec));
    return value;
  }
  for (std::size_t i = 0; i < spec.name_count && token.size() == 3; ++i) {
    bool same = true;
    for (std::size_t k = 0; k < 3; ++k) {
      same = same && std::tolower(static_cast<unsigned char>(token[k])) == spec.names[i][k];
    }
    if (same) return spec.low + static_cast<int>(i);
  }
  return refused(spec, token, spec.names ? "is neither a number nor a name" : "is not a number");
}

// One list item: "*", "a", "a-b", each optionally followed by "/step".
std::optional<core::Error> parse_item(FieldSpec const& spec, std::string_view item, Bits& bits) {
  if (item.empty()) return refused(spec, item, "has an empty list item");
  auto slash = item.find('/');
  std::string_view base = item.substr(0, slash);
  int low = 0, high = 0, step = 1;
  if (base == "*") {
    low = spec.low;
    high = spec.star_high;
  } else {
    auto dash = base.find('-');
    auto first = parse_value(spec, base.substr(0, dash));
    if (!first) return first.error();
    low = high = *first;
    if (dash != std::string_view::npos) {
      auto last = parse_value(spec, base.substr(dash + 1));
      if (!last) return last.error();
      high = *last;
      if (high < low) return refused(spec, item, "is a range that runs backwards");
    } else if (slash != std::string_view::npos) {
      high = spec.high;  // "5/15": from 5 to the field's end
    }
  }
  if (slash != std::string_view::npos) {
    std::string_view step_text = item.substr(slash + 1);
    int span = spec.star_high - spec.low + 1;
    bool digits = !step_text.empty() && step_text.size() <= 3;
    for (char c : step_text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) return refused(spec, item, "has a step that is not a number");
    step = std::stoi(std::string(step_text));
    if (step < 1 || step > span) return refused(spec, item, "has a step outside 1-" + std::to_string(span));
  }
  for (int v = low; v <= high; v += step) bits.set(v == 7 && spec.high == 7 ? 0 : static_cast<std::size_t>(v));
  return std::nullopt;
}

// A comma-separated list; `star` tells whether it starts with '*' (Vixie's day rule).
std::optional<core::Error> parse_field(FieldSpec const& spec, std::string_view text, Bits& bits, bool& star) {
  star = !text.empty() && text[0] == '*';
  std::size_t begin = 0;
  while (true) {
    auto comma = text.find(',', begin);
    if (auto error = parse_item(spec, text.substr(begin, comma - begin), bits)) return error;
    if (comma == std::string_view::npos) return std::nullopt;
    begin = comma + 1;
  }
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

template <std::size_t N>
Bits widen(std::bitset<N> const& bits) {
  return Bits(bits.to_ullong());
}

template <std::size_t N>
std::bitset<N> narrow(Bits const& bits) {
  return std::bitset<N>(bits.to_ullong());
}

constexpr int kMaxDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

// Only one shape never fires: day-of-week '*'-led (so both day fields must match) and no listed
// day-of-month exists in any listed month ("30 feb").
bool can_fire(CronExpr const& e) {
  if (!e.dow_star || e.dom_star) return true;
  for (int month = 1; month <= 12; ++month) {
    if (!e.months[static_cast<std::size_t>(month)]) continue;
    for (int day = 1; day <= kMaxDaysInMonth[month]; ++day) {
      if (e.days_of_month[static_cast<std::size_t>(day)]) return true;
    }
  }
  return false;
}

// --- rendering ---

std::string render_list(Bits const& bits, int low, int high) {
  std::string out;
  for (int v = low; v <= high;) {
    if (!bits[static_cast<std::size_t>(v)]) {
      ++v;
      continue;
    }
    int end = v;
    while (end + 1 <= high && bits[static_cast<std::size_t>(end + 1)]) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(v);
    if (end == v + 1) out += "," + std::to_string(end);
    if (end > v + 1) out += "-" + std::to_string(end);
    v = end + 1;
  }
  return out;
}

Bits all_of(FieldSpec const& spec) {
  Bits bits;
  for (int v = spec.low; v <= spec.star_high; ++v) bits.set(static_cast<std::size_t>(v));
  return bits;
}

// Minute, hour, month: "*" when full, else the list.
std::string render_plain(FieldSpec const& spec, Bits const& bits) {
  return bits == all_of(spec) ? "*" : render_list(bits, spec.low, spec.star_high);
}

// A day field. '*'-led: "*" or "*/s" (the smallest step whose values all belong to it) followed
// by the values that step does not cover, so that the star (the day rule) survives a round trip;
// otherwise a list, never a '*'.
std::string render_day_field(FieldSpec const& spec, Bits const& bits, bool star) {
  int low = spec.low, high = spec.star_high;
  if (!star || !bits[static_cast<std::size_t>(low)]) return render_list(bits, low, high);
  for (int step = 1; step <= high - low + 1; ++step) {
    Bits covered;
    for (int v = low; v <= high; v += step) covered.set(static_cast<std::size_t>(v));
    if ((covered & ~bits).any()) continue;
    std::string out = step == 1 ? "*" : "*/" + std::to_string(step);
    std::string rest = render_list(bits & ~covered, low, high);
    return rest.empty() ? out : out + "," + rest;
  }
  return render_list(bits, low, high);  // not reached: step high-low+1 covers {low}
}

// --- calendar (proleptic Gregorian, after Howard Hinnant's days_from_civil) ---

struct Date {
  std::int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153u * static_cast<unsigned>(m > 2 ? m - 3 : m + 9) + 2u) / 5u + static_cast<unsigned>(d) - 1u;
  unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Date civil_from_days(std::int64_t z) {
  z += 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
  unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
  unsigned mp = (5u * doy + 2u) / 153u;
  int d = static_cast<int>(doy - (153u * mp + 2u) / 5u + 1u);
  int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

const std::int64_t kLastDay = days_from_civil(9999, 12, 31);

bool day_matches(CronExpr const& e, std::int64_t day, Date const& date) {
  bool dom = e.days_of_month[static_cast<std::size_t>(date.day)];
  bool dow = e.days_of_week[static_cast<std::size_t>((day % 7 + 11) % 7)];  // day 0 was a Thursday
  return e.dom_star || e.dow_star ? dom && dow : dom || dow;
}

// The first matching minute of the day at or after `minute`, or -1.
int first_time_from(CronExpr const& e, int minute) {
  for (int h = minute / 60; h < 24; ++h) {
    if (!e.hours[static_cast<std::size_t>(h)]) continue;
    for (int m = h == minute / 60 ? minute % 60 : 0; m < 60; ++m) {
      if (e.minutes[static_cast<std::size_t>(m)]) return h * 60 + m;
    }
  }
  return -1;
}

// The last matching minute of the day at or before `minute`, or -1.
int last_time_until(CronExpr const& e, int minute) {
  for (int h = minute / 60; h >= 0; --h) {
    if (!e.hours[static_cast<std::size_t>(h)]) continue;
    for (int m = h == minute / 60 ? minute % 60 : 59; m >= 0; --m) {
      if (e.minutes[static_cast<std::size_t>(m)]) return h * 60 + m;
    }
  }
  return -1;
}

}  // namespace

core::Result<CronExpr> parse_cron(std::string_view text) {
  if (text.size() > kMaxExpressionBytes) {
    return core::make_error(core::Errc::invalid, "longer than " + std::to_string(kMaxExpressionBytes) + " bytes");
  }
  auto fields = split_fields(text);
  if (fields.size() != 5) {
    return core::make_error(core::Errc::invalid, "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                                                     std::to_string(fields.size()));
  }
  CronExpr e;
  Bits minutes, hours, dom, months, dow;
  bool ignored = false;
  if (auto err = parse_field(kMinute, fields[0], minutes, ignored)) return *err;
  if (auto err = parse_field(kHour, fields[1], hours, ignored)) return *err;
  if (auto err = parse_field(kDayOfMonth, fields[2], dom, e.dom_star)) return *err;
  if (auto err = parse_field(kMonth, fields[3], months, ignored)) return *err;
  if (auto err = parse_field(kDayOfWeek, fields[4], dow, e.dow_star)) return *err;
  e.minutes = narrow<60>(minutes);
  e.hours = narrow<24>(hours);
  e.days_of_month = narrow<32>(dom);
  e.months = narrow<13>(months);
  e.days_of_week = narrow<7>(dow);
  if (!can_fire(e)) {
    return core::make_error(core::Errc::invalid, "never fires: no listed day-of-month exists in a listed month");
  }
  return e;
}

std::string render_cron(CronExpr const& e) {
  return render_plain(kMinute, widen(e.minutes)) + " " + render_plain(kHour, widen(e.hours)) + " " +
         render_day_field(kDayOfMonth, widen(e.days_of_month), e.dom_star) + " " +
         render_plain(kMonth, widen(e.months)) + " " + render_day_field(kDayOfWeek, widen(e.days_of_week), e.dow_star);
}

std::optional<std::int64_t> cron_next_after(CronExpr const& e, std::int64_t from_ms) {
  std::int64_t start = from_ms < 0 ? 0 : floor_div(from_ms, kMinuteMs) + 1;  // minutes since the epoch
  std::int64_t day = start / kDayMinutes;
  int minute = static_cast<int>(start % kDayMinutes);
  while (day <= kLastDay) {
    Date date = civil_from_days(day);
    if (!e.months[static_cast<std::size_t>(date.month)]) {
      day = date.month == 12 ? days_from_civil(date.year + 1, 1, 1) : days_from_civil(date.year, date.month + 1, 1);
      minute = 0;
      continue;
    }
    if (day_matches(e, day, date)) {
      if (int t = first_time_from(e, minute); t >= 0) return (day * kDayMinutes + t) * kMinuteMs;
    }
    ++day;
    minute = 0;
  }
  return std::nullopt;
}

std::optional<std::int64_t> cron_last_at_or_before(CronExpr const& e, std::int64_t at_ms) {
  if (at_ms < 0) return std::nullopt;
  std::int64_t at = at_ms / kMinuteMs;
  std::int64_t day = std::min(at / kDayMinutes, kLastDay);
  int minute = day < at / kDayMinutes ? static_cast<int>(kDayMinutes - 1) : static_cast<int>(at % kDayMinutes);
  while (day >= 0) {
    Date date = civil_from_days(day);
    if (!e.months[static_cast<std::size_t>(date.month)]) {
      day = days_from_civil(date.year, date.month, 1) - 1;
      minute = static_cast<int>(kDayMinutes - 1);
      continue;
    }
    if (day_matches(e, day, date)) {
      if (int t = last_time_until(e, minute); t >= 0) return (day * kDayMinutes + t) * kMinuteMs;
    }
    --day;
    minute = static_cast<int>(kDayMinutes - 1);
  }
  return std::nullopt;
}

}  // namespace outboard::jobs
