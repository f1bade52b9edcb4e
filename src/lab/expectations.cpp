#include "lab/expectations.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace outboard::lab {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string joined(std::vector<std::string> const& names) { return fmt::format("{}", fmt::join(names, ",")); }

std::string_view verdict_word(bool pass) { return pass ? "PASS" : "FAIL"; }

}  // namespace

std::vector<Expectation> parse_expectations(std::vector<std::string> const& items,
                                            std::vector<std::string> const& planned_modes) {
  std::vector<Expectation> out;
  for (auto const& item : items) {
    auto const eq = item.find('=');
    if (eq == std::string::npos) {
      throw ExpectationError(fmt::format("--expect '{}': expected MODE=pass or MODE=fail, e.g. stateless=pass", item));
    }
    Expectation e{item.substr(0, eq), true};
    std::string const verdict = lower(item.substr(eq + 1));
    if (verdict != "pass" && verdict != "fail") {
      throw ExpectationError(fmt::format("--expect '{}': the verdict must be pass or fail", item));
    }
    e.pass = verdict == "pass";
    // An expectation on a design the run does not include could never be checked: a typo in a
    // CI script must not pass silently.
    if (std::find(planned_modes.begin(), planned_modes.end(), e.mode) == planned_modes.end()) {
      throw ExpectationError(fmt::format("--expect '{}': '{}' is not among --modes ({})", item, e.mode,
                                         joined(planned_modes)));
    }
    bool const repeated =
        std::any_of(out.begin(), out.end(), [&](Expectation const& seen) { return seen.mode == e.mode; });
    if (repeated) throw ExpectationError(fmt::format("--expect: '{}' is given twice", e.mode));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ExpectationOutcome> check_expectations(std::vector<Expectation> const& expectations,
                                                   nlohmann::json const& results) {
  std::vector<ExpectationOutcome> out;
  nlohmann::json const* modes = results.is_object() && results.contains("modes") ? &results["modes"] : nullptr;
  for (auto const& e : expectations) {
    ExpectationOutcome outcome{e, std::nullopt};
    if (modes != nullptr && modes->is_array()) {
      for (auto const& m : *modes) {
        if (!m.is_object() || m.value("mode", "") != e.mode) continue;
        auto const verdict = m.find("verdict");
        if (verdict != m.end() && verdict->is_object()) {
          auto const ok = verdict->find("ok");
          if (ok != verdict->end() && ok->is_boolean()) outcome.actual = ok->get<bool>();
        }
      }
    }
    out.push_back(std::move(outcome));
  }
  return out;
}

bool all_met(std::vector<ExpectationOutcome> const& outcomes) {
  return std::all_of(outcomes.begin(), outcomes.end(), [](ExpectationOutcome const& o) { return o.met(); });
}

nlohmann::json expectations_json(std::vector<ExpectationOutcome> const& outcomes) {
  auto word = [](bool pass) { return pass ? "pass" : "fail"; };
  nlohmann::json out = nlohmann::json::array();
  for (auto const& o : outcomes) {
    out.push_back({{"mode", o.expected.mode},
                   {"expected", word(o.expected.pass)},
                   {"actual", o.actual ? nlohmann::json(word(*o.actual)) : nlohmann::json(nullptr)},
                   {"met", o.met()}});
  }
  return out;
}

std::string render_expectations(std::vector<ExpectationOutcome> const& outcomes) {
  std::size_t width = 0;
  for (auto const& o : outcomes) width = std::max(width, o.expected.mode.size());
  std::string out = "\nexpectations (--expect):\n";
  std::size_t unmet = 0;
  for (auto const& o : outcomes) {
    std::string const actual = o.actual ? std::string(verdict_word(*o.actual)) : "no verdict";
    out += fmt::format("  {:<{}}  expected {}, got {}: {}\n", o.expected.mode, width, verdict_word(o.expected.pass),
                       actual, o.met() ? "met" : "NOT MET");
    if (!o.met()) ++unmet;
  }
  out += unmet == 0 ? fmt::format("all {} expectations met\n", outcomes.size())
                    : fmt::format("{} of {} expectations NOT met\n", unmet, outcomes.size());
  return out;
}

}  // namespace outboard::lab
