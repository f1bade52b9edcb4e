#include "lab/metrics_text.hpp"

#include <cstdlib>

namespace outboard::lab {
namespace {

// Where each line starting with `name` begins (at 0, or after a newline), from `from` on.
std::size_t next_line_starting(std::string_view page, std::string_view name, std::size_t from) {
  for (std::size_t at = page.find(name, from); at != std::string_view::npos; at = page.find(name, at + 1)) {
    if (at == 0 || page[at - 1] == '\n') return at;
  }
  return std::string_view::npos;
}

std::int64_t number_at(std::string_view page, std::size_t at) {
  // The page's numbers end at a newline or a space (a timestamp), which strtoll stops at.
  return std::strtoll(std::string(page.substr(at, page.find('\n', at) - at)).c_str(), nullptr, 10);
}

}  // namespace

std::optional<std::int64_t> series_value(std::string_view page, std::string_view series) {
  for (auto at = next_line_starting(page, series, 0); at != std::string_view::npos;
       at = next_line_starting(page, series, at + 1)) {
    std::size_t after = at + series.size();
    if (after < page.size() && page[after] == ' ') return number_at(page, after + 1);
  }
  return std::nullopt;
}

std::int64_t family_sum(std::string_view page, std::string_view family) {
  std::int64_t total = 0;
  for (auto at = next_line_starting(page, family, 0); at != std::string_view::npos;
       at = next_line_starting(page, family, at + 1)) {
    std::size_t after = at + family.size();
    if (after < page.size() && page[after] == '{') {
      after = page.find("} ", after);
      if (after == std::string_view::npos) break;
      ++after;
    }
    if (after >= page.size() || page[after] != ' ') continue;
    total += number_at(page, after + 1);
  }
  return total;
}

}  // namespace outboard::lab
