#pragma once
// A checker for Prometheus text exposition format 0.0.4, written from the format's rules, so a
// test can assert that a /metrics page would be scraped as intended:
//   - every sample's family has "# HELP" and "# TYPE" lines, TYPE once and before its samples;
//   - a family's lines are contiguous; metric and label names are valid; label values are quoted
//     with only \\, \" and \n escapes; values are floats (+Inf, -Inf, NaN allowed);
//   - a histogram's samples are <name>_bucket (with an `le` label), <name>_sum and <name>_count;
//     every other type's samples are named as the family;
//   - no series (name and label set) appears twice;
//   - stable label sets: every series of a family has the same label names (`le` aside).
#include <map>
#include <string>
#include <vector>

namespace outboard::testing {

// One message per broken rule, with the line number; empty when the page is valid.
std::vector<std::string> prometheus_text_problems(std::string const& text);

// The samples of a page: "name{label=\"v\",...}" exactly as written (or "name") -> value.
std::map<std::string, double> prometheus_samples(std::string const& text);

}  // namespace outboard::testing
