// The cron parser (jobs/cron.hpp): what it accepts, why it refuses, and the instants it computes
// across month ends, leap days and Vixie's day-of-month / day-of-week rule.
#include "jobs/cron.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace outboard::jobs {
namespace {

using namespace std::chrono;

std::int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  sys_days date{year{y} / month{mo} / day{d}};
  return duration_cast<milliseconds>(date.time_since_epoch() + hours{h} + minutes{mi}).count();
}

CronExpr cron(std::string_view text) {
  auto parsed = parse_cron(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().context);
  return parsed ? *parsed : CronExpr{};
}

std::int64_t next(std::string_view text, std::int64_t from) {
  auto at = cron_next_after(cron(text), from);
  EXPECT_TRUE(at) << text;
  return at.value_or(-1);
}

TEST(Cron, ReadsStarsListsRangesAndSteps) {
  auto e = cron("*/15 0-6/3 1,15 * 1-5");
  EXPECT_EQ(e.minutes.to_string(), std::bitset<60>().set(0).set(15).set(30).set(45).to_string());
  EXPECT_EQ(e.hours, std::bitset<24>().set(0).set(3).set(6));
  EXPECT_EQ(e.days_of_month, std::bitset<32>().set(1).set(15));
  EXPECT_TRUE(e.months.count() == 12 && !e.months[0]);
  EXPECT_EQ(e.days_of_week, std::bitset<7>("0111110"));
  EXPECT_FALSE(e.dom_star);
  EXPECT_FALSE(e.dow_star);
  // "5/20" runs from 5 to the field's end; extra blanks between fields are fine.
  EXPECT_EQ(cron("  5/20\t* * * *  ").minutes, std::bitset<60>().set(5).set(25).set(45));
}

TEST(Cron, NamesAndSevenForSunday) {
  EXPECT_EQ(cron("0 12 * jan,JUL Mon-fri"), cron("0 12 * 1,7 1-5"));
  EXPECT_EQ(cron("0 0 * * 7"), cron("0 0 * * 0"));
  EXPECT_EQ(cron("0 0 * * sun"), cron("0 0 * * 0"));
  EXPECT_EQ(cron("0 0 * * 5-7").days_of_week, std::bitset<7>("1100001"));
}

TEST(Cron, RefusesWithTheReason) {
  struct Case {
    char const* text;
    char const* reason;
  } cases[] = {
      {"", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
      {"* * * *", "got 4"},
      {"* * * * * *", "got 6"},
      {"60 * * * *", "minute: '60' is out of range 0-59"},
      {"* 24 * * *", "hour: '24' is out of range 0-23"},
      {"* * 0 * *", "day-of-month: '0' is out of range 1-31"},
      {"* * 32 * *", "day-of-month: '32' is out of range"},
      {"* * * 13 *", "month: '13' is out of range 1-12"},
      {"* * * * 8", "day-of-week: '8' is out of range 0-7"},
      {"5-1 * * * *", "minute: '5-1' is a range that runs backwards"},
      {"*/0 * * * *", "minute: '*/0' has a step outside 1-60"},
      {"*/61 * * * *", "has a step outside 1-60"},
      {"*/x * * * *", "has a step that is not a number"},
      {"1,,2 * * * *", "minute: '' has an empty list item"},
      {"1, * * * *", "has an empty list item"},
      {"a * * * *", "minute: 'a' is not a number"},
      {"1-2-3 * * * *", "'2-3' is not a number"},
      {"* * * foo *", "month: 'foo' is neither a number nor a name"},
      {"* * * * monday", "is neither a number nor a name"},
      {"-1 * * * *", "is missing a value"},
      {"0 0 30 2 *", "never fires"},
      {"0 0 31 4,6,9,11 *", "never fires"},
      {"0 0 31 apr */2", "never fires"},
      {"1000 * * * *", "out of range"},
  };
  for (auto const& c : cases) {
    auto parsed = parse_cron(c.text);
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().code, core::Errc::invalid);
    EXPECT_NE(parsed.error().context.find(c.reason), std::string::npos)
        << "'" << c.text << "': " << parsed.error().context;
  }
  EXPECT_FALSE(parse_cron(std::string(300, '*')));
}

TEST(Cron, TheNextInstantIsStrictlyAfter) {
  EXPECT_EQ(next("30 14 * * *", utc(2024, 5, 1, 14, 29) + 59'999), utc(2024, 5, 1, 14, 30));
  EXPECT_EQ(next("30 14 * * *", utc(2024, 5, 1, 14, 30)), utc(2024, 5, 2, 14, 30));
  EXPECT_EQ(next("* * * * *", utc(2024, 5, 1, 14, 30) + 1), utc(2024, 5, 1, 14, 31));
}

TEST(Cron, MonthAndYearEnds) {
  EXPECT_EQ(next("59 23 * * *", utc(2024, 12, 31, 23, 59)), utc(2025, 1, 1, 23, 59));
  // The 31st skips the months that have none.
  EXPECT_EQ(next("0 0 31 * *", utc(2024, 1, 31)), utc(2024, 3, 31));
  EXPECT_EQ(next("0 0 31 * *", utc(2024, 4, 1)), utc(2024, 5, 31));
  EXPECT_EQ(next("0 0 1 * *", utc(2024, 11, 15)), utc(2024, 12, 1));
  EXPECT_EQ(next("0 0 1 jan *", utc(2024, 1, 1)), utc(2025, 1, 1));
}

TEST(Cron, LeapDays) {
  EXPECT_EQ(next("0 0 29 2 *", utc(2023, 3, 1)), utc(2024, 2, 29));
  EXPECT_EQ(next("0 0 29 2 *", utc(2024, 2, 29)), utc(2028, 2, 29));
  EXPECT_EQ(next("0 0 29 2 *", utc(2096, 3, 1)), utc(2104, 2, 29));  // 2100 is not a leap year
  EXPECT_EQ(next("0 0 29 feb *", utc(2000, 1, 1)), utc(2000, 2, 29));  // 2000 is
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // 2024-09-01 is a Sunday: "the 13th OR a Friday" fires first on Friday the 6th.
  EXPECT_EQ(next("0 0 13 * 5", utc(2024, 9, 1)), utc(2024, 9, 6));
  EXPECT_EQ(next("0 0 13 * 5", utc(2024, 9, 6)), utc(2024, 9, 13));
  EXPECT_EQ(next("0 0 2 * 5", utc(2024, 9, 1)), utc(2024, 9, 2));  // a Monday, the 2nd
}

TEST(Cron, BothDayFieldsMustMatchWhenOneStartsWithAStar) {
  EXPECT_EQ(next("0 0 * * 5", utc(2024, 9, 1)), utc(2024, 9, 6));
  EXPECT_EQ(next("0 0 13 * *", utc(2024, 9, 1)), utc(2024, 9, 13));
  // Vixie's quirk: "*/2" starts with '*', so it is AND: an odd day that is a Friday (the 13th),
  // not the 3rd (odd) nor the 6th (Friday).
  EXPECT_EQ(next("0 0 */2 * 5", utc(2024, 9, 1)), utc(2024, 9, 13));
  EXPECT_TRUE(cron("0 0 */2 * 5").dom_star);
}

TEST(Cron, TheLastInstantAtOrBefore) {
  auto leap = cron("0 0 29 2 *");
  EXPECT_EQ(cron_last_at_or_before(leap, utc(2028, 2, 28)), utc(2024, 2, 29));
  EXPECT_EQ(cron_last_at_or_before(leap, utc(2024, 2, 29)), utc(2024, 2, 29));
  EXPECT_EQ(cron_last_at_or_before(cron("30 14 * * *"), utc(2024, 5, 1, 14, 29)), utc(2024, 4, 30, 14, 30));
  EXPECT_EQ(cron_last_at_or_before(cron("0 0 13 * 5"), utc(2024, 9, 12)), utc(2024, 9, 6));
  EXPECT_EQ(cron_last_at_or_before(cron("0 0 1 1 *"), 0), 0);
  EXPECT_FALSE(cron_last_at_or_before(cron("0 1 1 1 *"), 0));
}

TEST(Cron, NextAndLastAgreeAndNothingMatchesBetween) {
  char const* exprs[] = {"*/7 */5 * * *", "0 0 29 2 *", "15 3 */2 * 5", "0 12 1,15 * mon", "*/13 4-6 * feb-apr *"};
  std::int64_t froms[] = {utc(2023, 12, 31, 23, 59) + 30'000, utc(2024, 2, 28, 12), utc(2031, 7, 4, 5, 5)};
  for (auto text : exprs) {
    auto e = cron(text);
    for (auto from : froms) {
      auto at = cron_next_after(e, from);
      ASSERT_TRUE(at) << text;
      EXPECT_GT(*at, from) << text;
      EXPECT_EQ(cron_last_at_or_before(e, *at), *at) << text;
      EXPECT_LE(cron_last_at_or_before(e, *at - 1).value_or(0), from) << text;
    }
  }
}

TEST(Cron, RenderReadsBackTheSameExpression) {
  char const* exprs[] = {"*/15 0-6/3 1,15 * 1-5", "0 0 */2,4 * 5", "5/20 * 3-31/7 jan,mar sun,sat",
                         "0 0 * * *",            "1,2 3 */31 * */3",  "0-59 0-23 1-31 1-12 0-7"};
  for (auto text : exprs) {
    auto e = cron(text);
    auto rendered = render_cron(e);
    auto again = parse_cron(rendered);
    ASSERT_TRUE(again) << text << " -> " << rendered;
    EXPECT_EQ(*again, e) << text << " -> " << rendered;
  }
  EXPECT_EQ(render_cron(cron("*/15 0-6/3 1,15 * 1-5")), "0,15,30,45 0,3,6 1,15 * 1-5");
  EXPECT_EQ(render_cron(cron("0 0 */2,4 * *")), "0 0 */2,4 * *");
}

}  // namespace
}  // namespace outboard::jobs
