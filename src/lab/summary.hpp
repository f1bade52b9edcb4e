#pragma once
// Reading the results: the verdict for one mode, and the side-by-side table for a terminal.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace outboard::lab {

// How a non-zero value is judged: a loss is what the lab exists to catch (it fails the verdict);
// a failed attempt may have been retried successfully; volume is just a measurement.
enum class RowKind { loss, attempt, volume };

// One row of the side-by-side table: where its value is in a mode's results.
struct TableRow {
  std::string_view label;
  std::string_view group;  // the object in a mode ("invariants", "failures", ...)
  std::string_view key;
  RowKind kind;
  int decimals;
  // One sentence on what the row counts, for a reader who has not read docs/LAB.md: the HTML
  // report's glossary and its rows' tooltips.
  std::string_view meaning;
};

struct TableSection {
  std::string_view heading;
  std::vector<TableRow> rows;
  // Shown only when some mode has a value other than zero in it (the chat section of a run
  // without chat users would be a block of zeros)...
  bool only_when_used = false;
  // ...or, when set, some mode's results hold this object (the jobs sections: their zeros are
  // the proof when the jobs workload ran, and noise when it did not).
  std::string_view used_when_present = {};
};

// Whether the table (terminal and HTML) shows this section for these modes' results.
bool section_shown(TableSection const& section, std::vector<nlohmann::json const*> const& modes);

// The table, in order, losses first: the one list the terminal table, the HTML report and the
// verdict all read.
std::vector<TableSection> const& table_sections();

// The verdict for one mode's results ("modes[i]" without the verdict): {"ok": bool, "text"}.
// ok means zero on every loss invariant, no request that was safe to retry failed, no answer
// the ledger could not explain, and at least one journey completed, one chat message delivered or
// one game move acknowledged.
nlohmann::json judge(nlohmann::json const& mode_results);

// The side-by-side table, modes by invariants, and one verdict line per mode.
std::string render_table(nlohmann::json const& results);

}  // namespace outboard::lab
