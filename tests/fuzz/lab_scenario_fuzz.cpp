// fuzz-link: outboard_core
// fuzz-sources: src/lab/scenario.cpp src/lab/modes.cpp
// The lab's scenario parser (lab/scenario.hpp): any text is a Scenario that keeps the rules the
// header states, or a ScenarioError naming the file. Nothing else may escape.
// Input: the text of a scenario file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "lab/scenario.hpp"

namespace {

using outboard::lab::FaultKind;
using outboard::lab::ScenarioError;

void check_fault(outboard::lab::FaultSpec const& f) {
  FUZZ_CHECK(!to_string(f.kind).empty());
  // A time is an offset or a share of the run, never both, never neither.
  FUZZ_CHECK(f.at.offset_ms.has_value() != f.at.fraction.has_value());
  if (f.at.offset_ms) FUZZ_CHECK(*f.at.offset_ms >= 0);
  if (f.at.fraction) {
    FUZZ_CHECK(*f.at.fraction >= 0.0 && *f.at.fraction <= 1.0);
    std::int64_t const run_ms = 60'000;
    auto when = f.at.resolve(run_ms);
    FUZZ_CHECK(when >= 0 && when <= run_ms);
  }
  if (!f.target.random) FUZZ_CHECK(f.target.index >= 1);
  if (f.restart_after_ms) FUZZ_CHECK(*f.restart_after_ms >= 0);
  if (f.kind == FaultKind::hang) FUZZ_CHECK(f.lasting_ms > 0);
  if (f.kind == FaultKind::scale_out || f.kind == FaultKind::scale_in) FUZZ_CHECK(f.count >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string text(reinterpret_cast<char const*>(data), size);
  outboard::lab::Scenario scenario;
  try {
    scenario = outboard::lab::parse_scenario(text, "fuzz.toml");
  } catch (ScenarioError const& e) {
    FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.toml:"));
    return 0;
  }
  FUZZ_CHECK(!scenario.name.empty());
  for (auto const& f : scenario.faults) check_fault(f);
  // Checking a parsed scenario against a run plan only ever says yes or raises ScenarioError.
  for (bool store_is_a_process : {false, true}) {
    try {
      outboard::lab::check_scenario_fits(scenario, 3, 60'000, store_is_a_process);
    } catch (ScenarioError const&) {
    }
  }
  return 0;
}
