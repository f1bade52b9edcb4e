#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace outboard::app {

// Adds `gateway` to the CLI; returns the function to run when it was chosen.
std::function<int()> add_gateway_command(CLI::App& app);

}  // namespace outboard::app
