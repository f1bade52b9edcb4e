// outboard_defective_serve: `outboard serve` with one known defect, for the lab's tests only
// (tests/integration/lab_invariants_test.cpp). The shipped binary has no such option: the
// defects live here, in a program CMake builds beside the tests.
//
//   outboard_defective_serve --defect NAME serve <every flag of outboard serve>
#include <CLI/CLI.hpp>

#include <iostream>

#include "core/config.hpp"
#include "defects.hpp"
#include "serve_command.hpp"

namespace {

std::string joined(std::vector<std::string> const& names) {
  std::string out;
  for (auto const& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"outboard_defective_serve: outboard serve with one known defect (a test-only program, never shipped)"};
  std::string defect;
  app.add_option("--defect", defect, "the defect to build in: " + joined(outboard::testing::defect_names()))
      ->required();
  app.require_subcommand(1);
  outboard::app::RouterHook hook;
  auto run_serve = outboard::app::add_serve_command(app, [&hook](outboard::runtime::Router& r) { hook(r); });
  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  auto chosen = outboard::testing::defect_named(defect);
  if (!chosen) {
    std::cerr << "outboard_defective_serve: unknown defect '" << defect << "'; known: "
              << joined(outboard::testing::defect_names()) << "\n";
    return 2;
  }
  hook = *chosen;
  try {
    return run_serve();
  } catch (outboard::core::ConfigError const& e) {
    std::cerr << "outboard_defective_serve: configuration error: " << e.what() << "\n";
    return 2;
  } catch (std::exception const& e) {
    std::cerr << "outboard_defective_serve: " << e.what() << "\n";
    return 1;
  }
}
