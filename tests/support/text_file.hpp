#pragma once
// A small input file (a config, a scenario) for a command under test.
#include <string>

#include "support/temp_dir.hpp"

namespace outboard::testing {

// Writes `text` to `dir`/`name`; the file's path.
std::string write_file(TempDir const& dir, std::string const& name, std::string const& text);

}  // namespace outboard::testing
