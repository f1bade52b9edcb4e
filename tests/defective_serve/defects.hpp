#pragma once
// Known defects for a test-only shop (outboard_defective_serve, never the shipped binary): each
// wraps ONE of the shop's routes (runtime::Router::wrap) so that the server breaks exactly one
// of the lab's invariants, deterministically, and the lab's tests can show that the ledger
// counts it (tests/integration/lab_invariants_test.cpp, docs/LAB.md "The invariants").
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::runtime {
class Router;
}

namespace outboard::testing {

// Applies the defect to the shop's routes; throws std::logic_error when the route it breaks is
// missing (the shop changed under the test, which must say so rather than test a correct server).
using DefectHook = std::function<void(runtime::Router&)>;

// The hook for a defect's name; nullopt for an unknown name.
std::optional<DefectHook> defect_named(std::string_view name);

// Every defect's name, in a stable order (for messages and parameterized tests).
std::vector<std::string> defect_names();

}  // namespace outboard::testing
