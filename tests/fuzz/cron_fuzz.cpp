// fuzz-link: outboard_core
// fuzz-sources: src/jobs/cron.cpp
// The cron parser and its instants (jobs/cron.hpp), on any text. Invariants:
//   - a refusal is Errc::invalid with a short reason;
//   - an accepted expression has a value in every field, and its rendering reads back as the same
//     expression (parse(render(e)) == e);
//   - next_after(from) exists (a never-firing expression is refused), is a whole minute strictly
//     after `from`, matches (last_at_or_before(next) == next), and nothing matches in between
//     (last_at_or_before(next - 1) <= from).
// Input: the first line is `from` in ms since the epoch (else 2023-11-14), the rest the expression.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "jobs/cron.hpp"

namespace {

using namespace outboard;

constexpr std::int64_t kDefaultFrom = 1'700'000'000'000;
constexpr std::int64_t kLatestFrom = 222'000'000'000'000;  // year 9004: leaves decades for the search

std::int64_t read_from(std::string_view line) {
  std::int64_t from = 0;
  if (line.empty() || line.size() > 15) return kDefaultFrom;
  for (char c : line) {
    if (c < '0' || c > '9') return kDefaultFrom;
    from = from * 10 + (c - '0');
  }
  return from > kLatestFrom ? kDefaultFrom : from;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  std::int64_t from = read_from(fuzz::take_line(rest));

  auto parsed = jobs::parse_cron(rest);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code == core::Errc::invalid);
    FUZZ_CHECK(!parsed.error().context.empty() && parsed.error().context.size() < 200);
    return 0;
  }
  jobs::CronExpr const& e = *parsed;
  FUZZ_CHECK(e.minutes.any() && e.hours.any() && e.days_of_month.any() && e.months.any() && e.days_of_week.any());
  FUZZ_CHECK(!e.days_of_month[0] && !e.months[0]);

  auto again = jobs::parse_cron(jobs::render_cron(e));
  FUZZ_CHECK(again && *again == e);

  auto next = jobs::cron_next_after(e, from);
  FUZZ_CHECK(next.has_value());
  FUZZ_CHECK(*next > from && *next % 60'000 == 0);
  FUZZ_CHECK(jobs::cron_last_at_or_before(e, *next) == next);
  auto before = jobs::cron_last_at_or_before(e, *next - 1);
  FUZZ_CHECK(!before || *before <= from);
  return 0;
}
