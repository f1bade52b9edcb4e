#pragma once
// Reading the results: the verdict for one mode, and the side-by-side table for a terminal.
#include <nlohmann/json_fwd.hpp>

#include <string>

namespace outboard::lab {

// The verdict for one mode's results ("modes[i]" without the verdict): {"ok": bool, "text"}.
// ok means zero on every loss invariant, no request that was safe to retry failed, no answer
// the ledger could not explain, and at least one journey completed.
nlohmann::json judge(nlohmann::json const& mode_results);

// The side-by-side table, modes by invariants, and one verdict line per mode.
std::string render_table(nlohmann::json const& results);

}  // namespace outboard::lab
