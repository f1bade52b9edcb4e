#pragma once
// `outboard lab --expect stateless=pass,stateful=fail`: the verdict a CI pipeline expects of each
// design, checked against the results document after the run. Pure functions over plain values;
// the exit code they lead to is the command's business (apps/outboard/lab_command.cpp).
#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace outboard::lab {

class ExpectationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Expectation {
  std::string mode;
  bool pass = true;  // the verdict expected: PASS (true) or FAIL (false)
};

// Parses items like "stateless=pass" (the flag's value already split on ','). Each names a mode of
// `planned_modes` (the --modes of this run) once, with pass or fail (any case). Throws
// ExpectationError naming the item and what was expected instead.
std::vector<Expectation> parse_expectations(std::vector<std::string> const& items,
                                            std::vector<std::string> const& planned_modes);

struct ExpectationOutcome {
  Expectation expected;
  std::optional<bool> actual;  // the mode's verdict; nullopt when the results lack the mode
  bool met() const { return actual.has_value() && *actual == expected.pass; }
};

// Each expectation against the verdicts in a results document (html_report.hpp shows its shape).
std::vector<ExpectationOutcome> check_expectations(std::vector<Expectation> const& expectations,
                                                   nlohmann::json const& results);

bool all_met(std::vector<ExpectationOutcome> const& outcomes);

// The outcomes as the results document records them ("expectations": [{mode, expected, actual,
// met}], verdicts as "pass"/"fail", actual null when the results lack the mode), so a pipeline
// reading --json sees what the exit code was about.
nlohmann::json expectations_json(std::vector<ExpectationOutcome> const& outcomes);

// The lines printed after the table: one per expectation and a summary line.
std::string render_expectations(std::vector<ExpectationOutcome> const& outcomes);

}  // namespace outboard::lab
