#include "lab/summary.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <vector>

namespace outboard::lab {
namespace {

using nlohmann::json;

constexpr double kUnevenLoad = 1.5;

struct Row {
  char const* label;
  char const* group;  // the object in a mode's results
  char const* field;
  bool is_loss;       // counts against the verdict
};

// The order of the table; the losses first, as they are what the lab is for.
std::vector<Row> const& rows() {
  static std::vector<Row> const r{
      {"unexpected logouts", "invariants", "unexpected_logouts", true},
      {"lost cart lines", "invariants", "lost_cart_lines", true},
      {"duplicated cart lines", "invariants", "duplicated_cart_lines", true},
      {"duplicate orders", "invariants", "duplicate_orders", true},
      {"lost orders", "invariants", "lost_orders", true},
      {"uploads read back wrong", "invariants", "upload_mismatches", true},
      {"failed after retries", "invariants", "failed_retryable", true},
      {"failed attempts: connect", "failures", "connect", false},
      {"failed attempts: 5xx", "failures", "server_5xx", false},
      {"failed attempts: timeout", "failures", "timeout", false},
      {"journeys completed", "journeys", "completed", false},
      {"journeys abandoned", "journeys", "abandoned", false},
      {"requests", "requests", "total", false},
      {"retries", "requests", "retries", false},
  };
  return r;
}

double number_at(json const& mode, char const* group, char const* field) {
  auto g = mode.find(group);
  if (g == mode.end() || !g->is_object()) return 0;
  auto f = g->find(field);
  return f != g->end() && f->is_number() ? f->get<double>() : 0;
}

std::int64_t count_at(json const& mode, char const* group, char const* field) {
  return static_cast<std::int64_t>(number_at(mode, group, field));
}

std::int64_t unexplained(json const& mode) {
  std::int64_t n = 0;
  auto u = mode.find("unexpected_answers");
  if (u != mode.end() && u->is_object()) {
    for (auto const& [what, count] : u->items()) n += count.get<std::int64_t>();
  }
  return n;
}

// "seconds 4-6, 11-15": where in the run the logouts happened.
std::string logout_seconds(json const& mode) {
  std::string out;
  auto t = mode.find("timeline");
  if (t == mode.end() || !t->is_array()) return out;
  int first = -1;
  int last = -2;
  auto flush = [&]() {
    if (first < 0) return;
    out += (out.empty() ? "" : ", ") + (first == last ? std::to_string(first) : fmt::format("{}-{}", first, last));
  };
  for (auto const& s : *t) {
    if (s.value("logouts", 0) <= 0) continue;
    int sec = s.value("t", 0);
    if (sec != last + 1) {
      flush();
      first = sec;
    }
    last = sec;
  }
  flush();
  return out;
}

std::string fault_list(json const& mode) {
  std::string out;
  auto f = mode.find("faults");
  if (f == mode.end() || !f->is_array()) return out;
  for (auto const& e : *f) {
    std::string kind = e.value("kind", "");
    // The faults themselves, not their follow-ups (restart, resume, each server replaced).
    if (kind != "kill" && kind != "hang" && kind != "deploy" && kind != "scale-out" && kind != "scale-in" &&
        kind != "store-down") {
      continue;
    }
    out += (out.empty() ? "" : ", ") + fmt::format("{} at {:.1f}s", kind, e.value("t_ms", 0) / 1000.0);
  }
  return out;
}

}  // namespace

json judge(json const& mode) {
  std::vector<std::string> lost;
  for (auto const& row : rows()) {
    if (!row.is_loss) continue;
    auto n = count_at(mode, row.group, row.field);
    if (n > 0) lost.push_back(fmt::format("{} {}", n, row.label));
  }
  auto odd = unexplained(mode);
  if (odd > 0) lost.push_back(fmt::format("{} unexplained answers", odd));
  auto journeys = count_at(mode, "journeys", "completed");
  std::string faults = fault_list(mode);
  // Not a loss, but what stickiness costs even when nothing is lost: servers that idle while
  // others carry their share.
  double peak = number_at(mode, "load", "peak_imbalance");
  std::string uneven = peak >= kUnevenLoad
                           ? fmt::format("; uneven load: the busiest server carried up to {:.1f}x its fair share", peak)
                           : "";
  if (lost.empty() && journeys > 0) {
    return {{"ok", true},
            {"text", fmt::format("lost nothing: zero on every invariant over {} journeys{}{}", journeys,
                                 faults.empty() ? "" : " through " + faults, uneven)}};
  }
  if (lost.empty()) return {{"ok", false}, {"text", "no journey completed: nothing was proven"}};
  std::string text = "LOST " + fmt::format("{}", fmt::join(lost, ", "));
  if (auto when = logout_seconds(mode); !when.empty()) {
    text += fmt::format("; logouts in second {}", when);
    if (!faults.empty()) text += fmt::format(" (faults: {})", faults);
  }
  return {{"ok", false}, {"text", text + uneven}};
}

std::string render_table(json const& results) {
  json modes = results.value("modes", json::array());
  auto const& settings = results.value("settings", json::object());
  std::string out = fmt::format(
      "\noutboard lab: {} ({} servers, {} users, {} s per mode, store {}, seed {})\n\n",
      results.value("scenario", json::object()).value("name", "?"), settings.value("servers", 0),
      settings.value("users", 0), settings.value("duration_s", 0.0), settings.value("store", "?"),
      settings.value("seed", 0));
  constexpr int kLabel = 26;
  constexpr int kColumn = 12;
  out += fmt::format("{:<{}}", "", kLabel);
  for (auto const& m : modes) out += fmt::format("{:>{}}", m.value("mode", "?"), kColumn);
  out += "\n";
  for (auto const& row : rows()) {
    out += fmt::format("{:<{}}", row.label, kLabel);
    for (auto const& m : modes) out += fmt::format("{:>{}}", count_at(m, row.group, row.field), kColumn);
    out += "\n";
  }
  auto metric = [&](char const* label, char const* group, char const* field, char const* unit) {
    out += fmt::format("{:<{}}", label, kLabel);
    for (auto const& m : modes) {
      int decimals = unit[0] == 'x' ? 2 : 1;
      out += fmt::format("{:>{}}", fmt::format("{:.{}f}{}", number_at(m, group, field), decimals, unit), kColumn);
    }
    out += "\n";
  };
  metric("busiest server / fair", "load", "imbalance", "x");
  metric("  at the worst second", "load", "peak_imbalance", "x");
  metric("requests/s", "requests", "per_second", "");
  metric("latency p50", "latency_ms", "p50", " ms");
  metric("latency p99", "latency_ms", "p99", " ms");
  metric("latency max", "latency_ms", "max", " ms");
  out += "\n";
  for (auto const& m : modes) {
    json verdict = m.value("verdict", json::object());
    out += fmt::format("{:<10} {} {}\n", m.value("mode", "?"), verdict.value("ok", false) ? "PASS" : "FAIL",
                       verdict.value("text", ""));
  }
  return out;
}

}  // namespace outboard::lab
