// outboard: one binary, one subcommand per part. Wiring only; the parts live in src/.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "core/config.hpp"
#include "gateway_command.hpp"
#include "jobs_command.hpp"
#include "lab_command.hpp"
#include "serve_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "outboard: stateless web services that survive crashes, deploys and routing changes,\n"
      "because state lives outside the server."};
  app.set_version_flag("--version", std::string("outboard ") + OUTBOARD_VERSION);
  app.require_subcommand(1);
  app.footer("\nEvery command exits 2 on bad input (an unknown flag, a value that does not convert, a bad\n"
             "configuration) and 0 for --help and --version; `outboard lab --help` lists the lab's other codes.\n");
  auto run_serve = outboard::app::add_serve_command(app);
  auto run_gateway = outboard::app::add_gateway_command(app);
  auto run_lab = outboard::app::add_lab_command(app);
  auto run_jobs = outboard::app::add_jobs_command(app);
  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    // --help and --version are "errors" with code 0; every real parse error (an unknown flag, a
    // value that does not convert, a missing subcommand) is bad input, which is 2 for every
    // command (docs/LAB.md), not CLI11's own codes (104, 109, ...).
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    // Each returns 0 at once when its subcommand was not the one chosen.
    if (int rc = run_serve(); rc != 0) return rc;
    if (int rc = run_gateway(); rc != 0) return rc;
    if (int rc = run_jobs(); rc != 0) return rc;
    return run_lab();
  } catch (outboard::core::ConfigError const& e) {
    std::cerr << "outboard: configuration error: " << e.what() << "\n";
    return 2;
  } catch (std::exception const& e) {
    std::cerr << "outboard: " << e.what() << "\n";
    return 1;
  }
}
