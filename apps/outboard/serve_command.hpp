#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace outboard::app {

// Adds `serve` to the CLI; returns the function to run when it was chosen.
std::function<int()> add_serve_command(CLI::App& app);

}  // namespace outboard::app
