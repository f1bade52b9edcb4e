#include "lab/metrics_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

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

std::map<std::string, std::int64_t> values_by_label(std::string_view page, std::string_view family,
                                                    std::string_view label) {
  std::map<std::string, std::int64_t> out;
  std::string opening = std::string(family) + "{";
  std::string wanted = std::string(label) + "=\"";
  for (auto at = next_line_starting(page, opening, 0); at != std::string_view::npos;
       at = next_line_starting(page, opening, at + 1)) {
    std::size_t close = page.find("} ", at);
    std::size_t eol = page.find('\n', at);
    if (close == std::string_view::npos || close > eol) continue;
    std::string_view labels = page.substr(at + opening.size(), close - at - opening.size());
    std::size_t where = labels.find(wanted);
    // The label's name must start the list or follow a comma (not end another name).
    while (where != std::string_view::npos && where != 0 && labels[where - 1] != ',') where = labels.find(wanted, where + 1);
    if (where == std::string_view::npos) continue;
    std::size_t value_at = where + wanted.size();
    std::size_t value_end = labels.find('"', value_at);
    if (value_end == std::string_view::npos) continue;
    out[std::string(labels.substr(value_at, value_end - value_at))] += number_at(page, close + 2);
  }
  return out;
}

std::optional<Histogram> read_histogram(std::string_view page, std::string_view name) {
  std::string opening = std::string(name) + "_bucket{le=\"";
  Histogram h;
  for (auto at = next_line_starting(page, opening, 0); at != std::string_view::npos;
       at = next_line_starting(page, opening, at + 1)) {
    std::size_t bound_at = at + opening.size();
    std::size_t bound_end = page.find("\"} ", bound_at);
    if (bound_end == std::string_view::npos || bound_end > page.find('\n', at)) continue;
    std::string bound(page.substr(bound_at, bound_end - bound_at));
    double le = bound == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(bound.c_str(), nullptr);
    h.cumulative.emplace_back(le, static_cast<std::uint64_t>(number_at(page, bound_end + 3)));
  }
  if (h.cumulative.empty()) return std::nullopt;
  return h;
}

bool merge_histogram(Histogram& into, Histogram const& more) {
  if (into.cumulative.empty()) {
    into = more;
    return true;
  }
  if (into.cumulative.size() != more.cumulative.size()) return false;
  for (std::size_t i = 0; i < more.cumulative.size(); ++i) {
    if (into.cumulative[i].first != more.cumulative[i].first) return false;
  }
  for (std::size_t i = 0; i < more.cumulative.size(); ++i) into.cumulative[i].second += more.cumulative[i].second;
  return true;
}

double histogram_bound(Histogram const& h, double q) {
  std::uint64_t total = h.count();
  if (total == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::max<std::uint64_t>(rank, 1);
  double largest_finite = 0;
  for (auto const& [le, cumulative] : h.cumulative) {
    if (std::isfinite(le)) largest_finite = le;
    if (cumulative >= rank) return std::isfinite(le) ? le : largest_finite;
  }
  return largest_finite;
}

}  // namespace outboard::lab
