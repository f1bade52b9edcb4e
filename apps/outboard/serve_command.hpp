#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace outboard::runtime {
class Router;
}

namespace outboard::app {

// Changes the shop's routes before the service starts. `outboard serve` passes none; a test-only
// server (tests/defective_serve) passes one to build a shop with a known defect.
using RouterHook = std::function<void(runtime::Router&)>;

// Adds `serve` to the CLI; returns the function to run when it was chosen.
std::function<int()> add_serve_command(CLI::App& app, RouterHook customize_routes = {});

}  // namespace outboard::app
