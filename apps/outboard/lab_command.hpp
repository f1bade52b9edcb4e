#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace outboard::app {

// Adds `lab` to the CLI; returns the function to run when it was chosen.
std::function<int()> add_lab_command(CLI::App& app);

}  // namespace outboard::app
